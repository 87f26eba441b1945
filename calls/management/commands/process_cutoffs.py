from django.core.management.base import BaseCommand

from calls.models import CutOff
from calls.services import cut_offs_process_due
from eurohpc.formatting import local


class Command(BaseCommand):
    help = "Move the proposals of every passed, unprocessed cut-off to eligibility screening. Idempotent."

    def handle(self, *args, **options):
        processed = cut_offs_process_due()
        if not processed:
            self.stdout.write("No cut-off to process.")
            return
        cut_offs = CutOff.objects.select_related("call").in_bulk(list(processed))
        for pk, moved in processed.items():
            cut_off = cut_offs[pk]
            self.stdout.write(
                f"{cut_off.call.identifier} cut-off {local(cut_off.closes_at)}: {moved} proposal(s) to screening."
            )
