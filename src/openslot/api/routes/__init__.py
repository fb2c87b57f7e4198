"""One router module per Cronofy resource."""
