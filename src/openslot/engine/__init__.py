"""The pure scheduling core: time, intervals, rules, availability. No I/O, no framework."""
