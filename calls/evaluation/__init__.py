"""Evaluation and selection of proposals: conflicts of interest, reviews, consensus, ranking, decisions."""
