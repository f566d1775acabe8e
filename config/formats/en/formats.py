"""English dates, one way everywhere: "1 Dec 2026" (Django's own mixes "Dec. 1, 2026" in
text with "12/01/2026" in tables, which a reader in China takes for 12 January)."""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y H:i"
SHORT_DATETIME_FORMAT = "j M Y H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j M"
TIME_FORMAT = "H:i"
