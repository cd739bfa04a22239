"""The E-model (ITU-T G.107): a call's transmission rating R and its MOS, as pure functions.

``rating(Parameters(...))`` computes R = Ro - Is - Id - Ie,eff + A from the planning values
of G.107 §7 (defaults: its Table 3, which give R = 93.2); ``mos(r)`` is G.107 Annex B's
conversion. ``estimate(loss_percent, one_way_ms)`` is what a call's statistics need: G.711
(Ie = 0; Bpl = 4.3, G.113 Appendix I's value for G.711 without the Appendix I concealment —
ours is a simpler repeat-and-fade, so the conservative figure), random loss (BurstR = 1),
the one-way delay as Ta = T and the round trip Tr = 2T, everything else at its default.
"""

import math
from dataclasses import dataclass, replace

__all__ = ["G711_BPL", "G711_IE", "Parameters", "estimate", "mos", "rating"]

G711_IE = 0.0    # ITU-T G.113 Appendix I
G711_BPL = 4.3   # G.113 Appendix I, G.711 without packet loss concealment


@dataclass(frozen=True, slots=True)
class Parameters:
    """G.107 Table 3's inputs, at their default values (dB, dBm0, dB(A), ms, percent)."""

    slr: float = 8.0       # send loudness rating
    rlr: float = 2.0       # receive loudness rating
    stmr: float = 15.0     # sidetone masking rating
    lstr: float = 18.0     # listener sidetone rating
    ds: float = 3.0        # D-value of the telephone, send side
    dr: float = 3.0        # D-value, receive side
    telr: float = 65.0     # talker echo loudness rating
    wepl: float = 110.0    # weighted echo path loss
    t: float = 0.0         # mean one-way delay of the echo path
    tr: float = 0.0        # round-trip delay in a 4-wire loop
    ta: float = 0.0        # absolute one-way delay
    qdu: float = 1.0       # quantising distortion units
    ie: float = 0.0        # equipment impairment factor
    bpl: float = 1.0       # packet-loss robustness factor
    ppl: float = 0.0       # random packet-loss probability, percent
    burst_r: float = 1.0   # burst ratio
    nc: float = -70.0      # circuit noise referred to the 0 dBr point
    nfor: float = -64.0    # noise floor at the receive side
    ps: float = 35.0       # room noise at the send side
    pr: float = 35.0       # room noise at the receive side
    a: float = 0.0         # advantage factor


def rating(p=Parameters()):
    """R of G.107 §7.1 for the parameters p."""
    olr = p.slr + p.rlr
    nfo = p.nfor + p.rlr
    pre = p.pr + 10 * math.log10(1 + 10 ** ((10 - p.lstr) / 10))
    nor = p.rlr - 121 + pre + 0.008 * (pre - 35) ** 2
    nos = p.ps - p.slr - p.ds - 100 + 0.004 * (p.ps - olr - p.ds - 14) ** 2
    no = 10 * math.log10(sum(10 ** (x / 10) for x in (p.nc, nos, nor, nfo)))
    ro = 15 - 1.5 * (p.slr + no)

    # Simultaneous impairments Is (§7.2).
    xolr = olr + 0.2 * (64 + no - p.rlr)
    iolr = 20 * ((1 + (xolr / 8) ** 8) ** (1 / 8) - xolr / 8)
    stmro = -10 * math.log10(10 ** (-p.stmr / 10) + math.exp(-p.t / 4) * 10 ** (-p.telr / 10))
    ist = (12 * (1 + ((stmro - 13) / 6) ** 8) ** (1 / 8)
           - 28 * (1 + ((stmro + 1) / 19.4) ** 35) ** (1 / 35)
           - 13 * (1 + ((stmro - 3) / 33) ** 13) ** (1 / 13) + 29)
    q = 37 - 15 * math.log10(p.qdu)
    g = 1.07 + 0.258 * q + 0.0602 * q ** 2
    y = (ro - 100) / 15 + 46 / 8.4 - g / 9
    z = 46 / 30 - g / 40
    iq = 15 * math.log10(1 + 10 ** y + 10 ** z)
    is_ = iolr + ist + iq

    # Delay impairments Id (§7.3): talker echo, listener echo, absolute delay.
    terv = p.telr - 40 * math.log10((1 + p.t / 10) / (1 + p.t / 150)) + 6 * math.exp(
        -0.3 * p.t ** 2)
    if p.stmr < 9:
        terv += ist / 2
    roe = -1.5 * (no - p.rlr)
    re = 80 + 2.5 * (terv - 14)
    idte = ((roe - re) / 2 + math.sqrt((roe - re) ** 2 / 4 + 100) - 1) * (1 - math.exp(-p.t))
    if p.stmr > 20:
        idte = math.sqrt(idte ** 2 + ist ** 2)
    rle = 10.5 * (p.wepl + 7) * (p.tr + 1) ** -0.25
    idle = (ro - rle) / 2 + math.sqrt((ro - rle) ** 2 / 4 + 169)
    idd = 0.0
    if p.ta > 100:
        x = math.log10(p.ta / 100) / math.log10(2)
        idd = 25 * ((1 + x ** 6) ** (1 / 6) - 3 * (1 + (x / 3) ** 6) ** (1 / 6) + 2)
    id_ = idte + idle + idd

    # Equipment impairment with packet loss (§7.4).
    ie_eff = p.ie + (95 - p.ie) * p.ppl / (p.ppl / p.burst_r + p.bpl)
    return ro - is_ - id_ - ie_eff + p.a


def mos(r):
    """G.107 Annex B: the estimated mean opinion score (conversational) for a rating r."""
    if r < 0:
        return 1.0
    if r > 100:
        return 4.5
    return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6


def estimate(loss_percent, one_way_ms, *, ie=G711_IE, bpl=G711_BPL, burst_r=1.0):
    """(R, MOS) of a G.711 call with this random loss and one-way delay."""
    r = rating(replace(Parameters(), ie=ie, bpl=bpl, ppl=loss_percent, burst_r=burst_r,
                       ta=one_way_ms, t=one_way_ms, tr=2 * one_way_ms))
    return r, mos(r)
