"""The teaching domain: a tiny bank account and FTGO's aggregates (book ch. 4 and 6)."""
