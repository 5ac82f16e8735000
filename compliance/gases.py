"""Greenhouse gases and global warming potentials: converting a report by gas to tCO2e.

GWP sets are the IPCC's 100-year values. Systems differ in which set they
use (Kyoto's first period used the Second Assessment Report, later
inventories AR4 and AR5), so a regime names its set. Quantities are whole
kilograms of gas; CO2e is rounded half up to whole tonnes once, on the total.
"""

from __future__ import annotations

from enum import StrEnum


class Gas(StrEnum):
    CO2 = "CO2"
    CH4 = "CH4"
    N2O = "N2O"
    HFC23 = "HFC-23"
    HFC134A = "HFC-134a"
    CF4 = "CF4"
    C2F6 = "C2F6"
    SF6 = "SF6"
    NF3 = "NF3"

    @property
    def family(self) -> str:
        """Return the Kyoto basket family: CO2, CH4, N2O, HFCs, PFCs, SF6 or NF3."""
        if self in (Gas.HFC23, Gas.HFC134A):
            return "HFCs"
        if self in (Gas.CF4, Gas.C2F6):
            return "PFCs"
        return self.value


# IPCC 100-year GWPs: SAR (1995), AR4 (2007, WG1 table 2.14), AR5 (2013, WG1 table 8.A.1).
GWP_SETS: dict[str, dict[Gas, int]] = {
    "SAR": {
        Gas.CO2: 1,
        Gas.CH4: 21,
        Gas.N2O: 310,
        Gas.HFC23: 11_700,
        Gas.HFC134A: 1_300,
        Gas.CF4: 6_500,
        Gas.C2F6: 9_200,
        Gas.SF6: 23_900,
    },
    "AR4": {
        Gas.CO2: 1,
        Gas.CH4: 25,
        Gas.N2O: 298,
        Gas.HFC23: 14_800,
        Gas.HFC134A: 1_430,
        Gas.CF4: 7_390,
        Gas.C2F6: 12_200,
        Gas.SF6: 22_800,
        Gas.NF3: 17_200,
    },
    "AR5": {
        Gas.CO2: 1,
        Gas.CH4: 28,
        Gas.N2O: 265,
        Gas.HFC23: 12_400,
        Gas.HFC134A: 1_300,
        Gas.CF4: 6_630,
        Gas.C2F6: 11_100,
        Gas.SF6: 23_500,
        Gas.NF3: 16_100,
    },
}


def co2e_t(quantities_kg: dict[Gas, int], gwp_set: str) -> int:
    """Return tonnes CO2e of gas quantities in kilograms, rounded half up once."""
    gwps = GWP_SETS[gwp_set]
    total_kg = 0
    for gas, quantity_kg in quantities_kg.items():
        gwp = gwps.get(gas)
        if gwp is None:
            raise KeyError(f"the {gwp_set} GWP set has no value for {gas.value}")
        total_kg += quantity_kg * gwp
    return (total_kg + 500) // 1000
