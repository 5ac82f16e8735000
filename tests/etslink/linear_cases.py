"""Two markets with linear MAC curves, written as scenario files, for convergence tests.

Market A (the EU preset, registry EU): four firms of 1,000,000 t each, 80% allocated free,
with MAC_f(q) = b_f·q euro cents, b_f = 3/200, 3/100, 3/50, 3/50. Each abates p/b_f at price
p, so A abates (200/3 + 100/3 + 50/3 + 50/3)·p = (400/3)·p; it needs A_A = 800,000 t,
so alone it clears at p_A = 6,000 (EUR 60), its cheap abaters selling to the dear ones.
Market B (the Swiss preset, registry CH, francs at par): four firms of 1,000,000 t, 90%
allocated, b_f = 1/200, 1/100, 1/50, 1/50: B abates (200 + 100 + 50 + 50)·p = 400·p and
needs A_B = 400,000 t, so alone p_B = 1,000 (CHF 10). Least cost of abating q: A q²·3/800,
B q²/800 (the area under the aggregate MAC); alone 2,400,000,000 and 200,000,000 minor.

The closed forms, derived by hand (shared/reference/linking-economics.md):

- **Free two-way link at 1:1**: p* solves (400/3)p + 400p = 1,200,000, so p* = 2,250; A
  abates 300,000 t and imports 500,000 CHUs from B, which abates 900,000 t. Costs: A
  300,000²·3/800 = 337,500,000, B 900,000²/800 = 1,012,500,000; the gain from linking
  2,600,000,000 − 1,350,000,000 = 1,250,000,000 minor.
- **A cap of 200,000 t a year on the link**: A abates 600,000 t, p_A = 600,000·3/400
  = 4,500; B abates 600,000 t, p_B = 600,000/400 = 1,500; 200,000 t flow; costs A
  1,350,000,000, B 450,000,000; gain 2,600,000,000 − 1,800,000,000 = 800,000,000.
- **One way, B to A**: as the free link. **One way, A to B**: nothing flows; autarky.
- **One way B to A at rate 1/2** (a CHU counts half a tonne in A): q_A = 800,000 − x/2,
  q_B = 400,000 + x, p_B = p_A/2; (400/3)p_A = 800,000 − x/2 and 400·(p_A/2) = 400,000 + x
  give p_A = 30,000/7 ≈ 4,285.71, p_B = 15,000/7 ≈ 2,142.86, x = 3,200,000/7 ≈ 457,142.86
  CHUs; q_A = 4,000,000/7, q_B = 6,000,000/7; costs A (4,000,000/7)²·3/800 =
  60,000,000,000/49, B (6,000,000/7)²/800 = 45,000,000,000/49; gain 2,600,000,000 −
  105,000,000,000/49 = 22,400,000,000/49 ≈ 457,142,857.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

LINK = """\
[[link]]
id = "ch-eu"
registry_a = "{a}"
registry_b = "{b}"
direction = "{direction}"
state = "active"
unit_types = ["EUA", "CHU"]
exchange_rate = "1"
effective_from = 2020-01-01
{extra}"""

SCENARIO = """\
[scenario]
name = "{name}"
narrative = "Two markets with linear MAC curves (tests/etslink/linear_cases.py)."
seed = {seed}
currency = "EUR"

[calendar]
start = 2021-01-01
years = 1
trading_days_per_year = {days}

[[registry]]
code = "EU"
preset = "eu"
{eu_firms}
[[registry]]
code = "CH"
preset = "switzerland"
{ch_firms}{links}
[[instrument]]
unit_type = "EUA"
registry = "EU"
lot_t = 100

[[instrument]]
unit_type = "CHU"
registry = "CH"
lot_t = 100

[fx]
CHF_per_EUR = "1"

[[agents]]
kind = "firms"
"""

# The analytic figures above: closing price per book (minor), flow (units), gain (minor).
FREE = {"EUA": Fraction(2_250), "CHU": Fraction(2_250), "flow": Fraction(500_000)}
CAPPED = {"EUA": Fraction(4_500), "CHU": Fraction(1_500), "flow": Fraction(200_000)}
AUTARKY = {"EUA": Fraction(6_000), "CHU": Fraction(1_000), "flow": Fraction(0)}
RATED = {
    "EUA": Fraction(30_000, 7),
    "CHU": Fraction(15_000, 7),
    "flow": Fraction(3_200_000, 7),
}
GAIN_FREE = Fraction(1_250_000_000)
GAIN_CAPPED = Fraction(800_000_000)
GAIN_RATED = Fraction(22_400_000_000, 49)
AUTARKY_COST = Fraction(2_600_000_000)


EU_SLOPES = (Fraction(3, 200), Fraction(3, 100), Fraction(3, 50), Fraction(3, 50))
CH_SLOPES = (Fraction(1, 200), Fraction(1, 100), Fraction(1, 50), Fraction(1, 50))
FIRM = """
[[registry.entities]]
id = "{id}"
sector = "industry"
baseline_t = 1_000_000
growth = "0"
allocation_share = "{share}"
mac = {{ kind = "linear", slope_minor_per_t = "{slope}" }}
"""


def firms(prefix: str, slopes: tuple[Fraction, ...], share: str) -> str:
    return "".join(
        FIRM.format(id=f"{prefix}-{n}", share=share, slope=slope)
        for n, slope in enumerate(slopes, start=1)
    )


def write_case(
    folder: Path,
    name: str,
    seed: int,
    *,
    linked: bool = True,
    direction: str = "bilateral",
    into_eu: bool = True,
    cap_t: int | None = None,
    rate_into_eu: Fraction | None = None,
    days: int = 40,
) -> Path:
    """Write one case's scenario (and link file) into `folder`; return the scenario's path."""
    folder.mkdir(parents=True, exist_ok=True)
    links = ""
    if linked:
        extra = ""
        if cap_t is not None:
            extra += f"period_cap_t = {cap_t}\n"
        if rate_into_eu is not None:
            extra += f'exchange_rate_into = {{ EU = "{rate_into_eu}" }}\n'
        # A unilateral link carries units from registry_a to registry_b only.
        a, b = ("CH", "EU") if into_eu else ("EU", "CH")
        (folder / f"{name}-link.toml").write_text(
            LINK.format(a=a, b=b, direction=direction, extra=extra), encoding="utf-8"
        )
        links = f'\n[[links]]\nfile = "{name}-link.toml"\n'
    path = folder / f"{name}.toml"
    path.write_text(
        SCENARIO.format(
            name=name,
            seed=seed,
            days=days,
            links=links,
            eu_firms=firms("eu", EU_SLOPES, "0.8"),
            ch_firms=firms("ch", CH_SLOPES, "0.9"),
        ),
        encoding="utf-8",
    )
    return path
