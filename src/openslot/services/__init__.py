"""Use cases. They own transactions and raise ``ServiceError``s carrying Cronofy error keys."""
