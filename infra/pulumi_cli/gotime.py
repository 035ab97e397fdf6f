"""YAML timestamps as yaml.v3 and Go's time package read and print them.

yaml.v3's resolve.go `parseTimestamp` tries four layouts with time.Parse: "2006-1-2T15:4:5.999999999Z07:00", the
same with a lowercase t, "2006-1-2 15:4:5.999999999" and "2006-1-2". Go's parser (time/format.go) lets a run of
spaces stand for one, takes a comma as well as a period before the fraction, any number of fraction digits (the
first nine count), zone offsets up to 24 hours and 60 minutes, and year 0; it checks the date's range. Pulumi keeps
a decoded timestamp as its `time.Time.String()` ("2006-01-02 15:04:05.999999999 -0700 MST"), or, for a project
default, as JSON (RFC 3339). A zone offset is printed with the local zone's name when it matches it; this module
assumes the machine running the CLI is on UTC (servers and CI usually are) and prints other offsets as Go prints
an unnamed zone ("+0530").
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

_STAMP = re.compile(r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
                    r"(?:(?P<sep>[Tt]| +)(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})"
                    r"(?:[.,](?P<frac>[0-9]+))?(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?)?")


@dataclass(frozen=True)
class GoTime:
    year: int
    month: int
    day: int
    hour: int = 0
    minute: int = 0
    second: int = 0
    nanos: int = 0
    offset_minutes: int = 0

    def string(self) -> str:
        """time.Time.String()."""
        frac = f".{self.nanos:09d}".rstrip("0") if self.nanos else ""
        off = self.offset_minutes
        zone = f"{'-' if off < 0 else '+'}{abs(off) // 60:02d}{abs(off) % 60:02d}"
        return (f"{self.year:04d}-{self.month:02d}-{self.day:02d} {self.hour:02d}:{self.minute:02d}:{self.second:02d}"
                f"{frac} {zone} {'UTC' if off == 0 else zone}")

    def rfc3339(self) -> str:
        """json.Marshal(time.Time): RFC 3339 with nanoseconds, trailing zeros dropped."""
        frac = f".{self.nanos:09d}".rstrip("0") if self.nanos else ""
        off = self.offset_minutes
        zone = "Z" if off == 0 else f"{'-' if off < 0 else '+'}{abs(off) // 60:02d}:{abs(off) % 60:02d}"
        return (f"{self.year:04d}-{self.month:02d}-{self.day:02d}T{self.hour:02d}:{self.minute:02d}:"
                f"{self.second:02d}{frac}{zone}")


def parse_timestamp(text: str) -> GoTime | None:
    m = _STAMP.fullmatch(text)
    if not m:
        return None
    sep, zone = m.group("sep"), m.group("zone")
    if sep is not None and (sep in "Tt") != (zone is not None):
        return None  # the RFC 3339 layouts need a zone, the space one takes none
    year, month, day = int(m.group("y")), int(m.group("mo")), int(m.group("d"))
    hour, minute, second = (int(m.group(k) or 0) for k in ("h", "mi", "s"))
    days = calendar.monthrange(year if year else 2000, month)[1] if 1 <= month <= 12 else 0
    if not (1 <= month <= 12 and 1 <= day <= days and hour < 24 and minute < 60 and second < 60):
        return None
    offset = 0
    if zone and zone != "Z":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 24 or minutes > 60:
            return None
        offset = (-1 if zone[0] == "-" else 1) * (hours * 60 + minutes)
    nanos = int((m.group("frac") or "0")[:9].ljust(9, "0"))
    return GoTime(year, month, day, hour, minute, second, nanos, offset)
