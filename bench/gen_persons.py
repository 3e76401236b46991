#!/usr/bin/env python3
"""Generates a synthetic population-registry file for `nixa person import` benchmarks.

Usage: gen_persons.py COUNT OUT.(jsonl|csv) [--bad N]
Personal IDs are valid and unique (province code + serial), consistent with sex and birth year.
--bad N spreads N malformed rows through the file (each kind of error in turn).
"""
import csv
import json
import sys

PROVINCES = [1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37,
             38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77,
             79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Đức", ""]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hùng", "Lan", "Mai", "Nam", "Phúc", "Quân", "Thảo", "Vy"]
FIELDS = ["personal_id", "family_name", "middle_name", "given_name", "birthdate", "sex", "nationality",
          "address", "phone", "email", "account_level"]
BAD = [
    ("personal_id", "12345"),
    ("birthdate", "1990-02-30"),
    ("sex", "unknown"),
    ("account_level", "3"),
    ("email", "not-an-email"),
]


def person(i):
    province = PROVINCES[i % len(PROVINCES)]
    serial = i // len(PROVINCES)
    year = 1940 + (i * 7) % 80
    female = (i // 3) % 2
    digit = (year // 100 - 19) * 2 + female
    pid = f"{province:03d}{digit}{year % 100:02d}{serial:06d}"
    return {
        "personal_id": pid,
        "family_name": FAMILY[i % len(FAMILY)],
        "middle_name": MIDDLE[i % len(MIDDLE)],
        "given_name": GIVEN[i % len(GIVEN)],
        "birthdate": f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "sex": "female" if female else "male",
        "nationality": "VN",
        "address": f"Số {1 + i % 300} đường {GIVEN[i % len(GIVEN)]}, Hà Nội",
        "phone": f"+849{i % 100000000:08d}",
        "email": f"p{i}@example.vn" if i % 3 == 0 else "",
        "account_level": 1 + i % 2,
    }


def main():
    count, out = int(sys.argv[1]), sys.argv[2]
    bad = int(sys.argv[sys.argv.index("--bad") + 1]) if "--bad" in sys.argv else 0
    every = count // bad if bad else 0
    with open(out, "w", encoding="utf-8", newline="") as f:
        writer = None
        if out.endswith(".csv"):
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
        for i in range(count):
            p = person(i)
            if every and i % every == every - 1:
                field, value = BAD[(i // every) % len(BAD)]
                p[field] = value
            if writer:
                writer.writerow(p)
            else:
                f.write(json.dumps(p, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
