"""Go's text for YAML scalars: what Prow's decoders turn a value into before the API server sees it.

- `go_string`: a non-string YAML scalar decoded into a Go `string` field (sigs.k8s.io/yaml turns
  it into text first: `true` → "true", `1` → "1", `1.5` → "1.5", via strconv with float32
  shortest digits for floats).
- `canonical_quantity`: a `resource.Quantity`'s canonical string (`2` → "2", `0.5` → "500m",
  "1.5Gi" → "1536Mi", "1000" → "1k"), or None when the value is not a quantity.

Pure; no I/O.
"""

from __future__ import annotations

import math
import re
import struct
from decimal import ROUND_UP, Decimal, InvalidOperation, localcontext

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_BINARY_SUFFIX = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_QUANTITY_RE = re.compile(
    r"([+-]?)((?:[0-9]+(?:\.[0-9]*)?)|(?:\.[0-9]+))"
    r"(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?[0-9]+))?"
)
_NANO = Decimal("1e-9")


def go_string(value: bool | int | float) -> str:
    """The string Go's YAML reading gives a bool, int or float in a string field."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _format_float32_g(value)


def _format_float32_g(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 32), with YAML's spellings of infinity and NaN."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    single = struct.unpack("f", struct.pack("f", value))[0] if abs(value) < 3.4e38 else value
    if single == 0:
        return "-0" if math.copysign(1.0, single) < 0 else "0"
    digits, exponent = _shortest_float32_digits(single)
    sign = "-" if single < 0 else ""
    # Go's 'g' with the shortest precision switches to %e for exponents < -4 or >= 6.
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    point = exponent + 1
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _shortest_float32_digits(value: float) -> tuple[str, int]:
    """The fewest significant digits that read back as the same float32, and their exponent."""
    for precision in range(1, 10):  # 9 digits always round-trip a float32
        text = f"{abs(value):.{precision - 1}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == abs(value):
            break
    mantissa, _, exp = text.partition("e")
    return mantissa.replace(".", "").rstrip("0") or "0", int(exp)


def canonical_quantity(value: object) -> str | None:
    """resource.Quantity's canonical string for a number or quantity text; None if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        text = repr(value)  # Go's JSON encoder writes the same shortest float64 digits
    elif isinstance(value, str):
        text = value
    else:
        return None
    match = _QUANTITY_RE.fullmatch(text)
    if match is None:
        return None
    sign, number, suffix, exponent_text = match.groups()
    with localcontext() as ctx:
        ctx.prec = 80
        try:
            amount = Decimal(number)
        except InvalidOperation:
            return None
        if suffix in _BINARY:
            amount *= Decimal(1024) ** _BINARY[suffix]
            form = "binary"
        elif exponent_text is not None:
            amount = amount.scaleb(int(exponent_text))
            form = "exponent"
        else:
            amount = amount.scaleb(_DECIMAL[suffix or ""])
            form = "si"
        if sign == "-":
            amount = -amount
        # A Quantity keeps nano precision; finer values are rounded away from zero.
        amount = amount.quantize(_NANO, rounding=ROUND_UP)
        return _canonical(amount, form)


def _canonical(amount: Decimal, form: str) -> str:
    if amount == 0:
        return "0"
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    # Binary stays binary only for whole values of at least 1024 (Go avoids rounding otherwise).
    if form == "binary" and amount >= 1024 and amount == amount.to_integral_value():
        whole, power = int(amount), 0
        while power < len(_BINARY_SUFFIX) - 1 and whole % 1024 == 0:
            whole //= 1024
            power += 1
        return f"{sign}{whole}{_BINARY_SUFFIX[power]}"
    mantissa, exponent = _integer_and_exponent(amount)
    shift = exponent % 3  # largest exponent that is a multiple of three, mantissa kept whole
    mantissa *= 10**shift
    exponent -= shift
    if form == "exponent":
        return f"{sign}{mantissa}" + (f"e{exponent}" if exponent else "")
    suffix = _DECIMAL_SUFFIX.get(exponent)
    if suffix is None:
        return f"{sign}{mantissa}e{exponent}"
    return f"{sign}{mantissa}{suffix}"


def _integer_and_exponent(amount: Decimal) -> tuple[int, int]:
    """amount as mantissa * 10**exponent with no trailing zeros in the mantissa."""
    _, digits, exponent = amount.normalize().as_tuple()
    assert isinstance(exponent, int)  # finite: checked by the caller
    return int("".join(map(str, digits))), exponent
