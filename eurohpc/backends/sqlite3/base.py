"""Django's SQLite backend, with decimals of every expression back at their field's scale.

SQLite keeps decimals as 15-digit floats. Django quantizes a plain column to its `decimal_places`, but an
aggregate or a computed value comes back as the float's digits (`56000000.100000000000000` for a sum of
cents). Money leaves the database in cents on every backend, as PostgreSQL's NUMERIC already gives it: here
every expression whose output field declares `decimal_places` is quantized to it.
"""

import decimal

from django.db.backends.sqlite3 import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def get_decimalfield_converter(self, expression):
        places = getattr(expression.output_field, "decimal_places", None)
        if places is None:
            return super().get_decimalfield_converter(expression)
        create_decimal = decimal.Context(prec=15).create_decimal_from_float
        quantum = decimal.Decimal(1).scaleb(-places)

        def converter(value, expression, connection):
            if value is None:
                return None
            number = value if isinstance(value, decimal.Decimal) else create_decimal(value)
            return number.quantize(quantum, context=expression.output_field.context)

        return converter


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
