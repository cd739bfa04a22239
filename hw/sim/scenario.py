"""Scenario files for the simulated board: who calls when, what they want, who answers.

A scenario is YAML validated by the pydantic models below (docs/hw.md has the format with an
example). ``load_scenario(path)`` and ``parse_scenario(text)`` return a ``Scenario`` or raise
``ScenarioError``, whose message lists every problem as ``path: what is wrong (got value)``,
with what is allowed. Unknown keys are errors (a typo must not silently become a default).
``scenario_warnings(scenario)`` names what is valid but likely not meant (shifts outside the
day, a day without agents) as ``ScenarioWarning(path, message, fix)``s.

Times of day are strings ``"HH:MM"`` (quote them: YAML 1.1 reads an unquoted 17:00 as the
number 1020). Durations are seconds. Random quantities are distributions, written
``{kind: fixed, value: 5}``, ``{kind: uniform, low: 1, high: 3}``,
``{kind: exponential, mean: 60}`` or ``{kind: lognormal, median: 180, sigma: 0.5}``.

A caller's script is its language's prelude followed by its goal's steps. A step is one of
``{keys: "..."}`` (press these keys at my turn), ``{listen: true}`` (let one prompt play out),
``{wait_agent: true}`` (wait in the queue for a person, then talk), ``{hang_up: true}`` or
``{callback: "1"}`` (wait in the queue, press that key to be called back, hang up, and take
the call back as ``callers.callback`` says; then talk as after ``wait_agent``).
Keys may use the placeholders ``{language_key}``, ``{card}`` and ``{pin}``. A keys step may
override the keypad's ``early``/``wrong``/``silent`` probabilities.
"""

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "AgentCodes",
    "AgentSpec",
    "CallbackAnswer",
    "Distribution",
    "Scenario",
    "ScenarioError",
    "ScenarioWarning",
    "Step",
    "load_scenario",
    "luhn_valid",
    "parse_scenario",
    "scenario_warnings",
]

DTMF_KEYS = "0123456789*#ABCD"
PLACEHOLDERS = ("language_key", "card", "pin")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class ScenarioError(ValueError):
    """A scenario failed validation; `problems` holds (path, message, value) triples."""

    def __init__(self, source, problems):
        self.source = source
        self.problems = problems
        lines = [f"{path}: {message} (got {value!r})" for path, message, value in problems]
        super().__init__(f"scenario {source}: {len(problems)} problem(s)\n  " +
                         "\n  ".join(lines))


def luhn_valid(number):
    """True if the digit string passes the Luhn check (ISO/IEC 7812-1 card numbers)."""
    if not number.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _time_of_day(value):
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            "a time of day must be a quoted string 'HH:MM' (YAML reads unquoted 17:00 "
            "as the number 1020)"
        )
    if not isinstance(value, str) or not re.fullmatch(r"\d{2}:\d{2}", value):
        raise ValueError("expected a time of day 'HH:MM', e.g. '09:00'")
    hours, minutes = int(value[:2]), int(value[3:])
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise ValueError("expected a time of day between '00:00' and '24:00'")
    return hours * 3600 + minutes * 60


# Seconds since midnight, written "HH:MM".
TimeOfDay = Annotated[int, BeforeValidator(_time_of_day)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fixed(_Model):
    kind: Literal["fixed"]
    value: float = Field(ge=0)

    def sample(self, rng):
        return self.value


class Range(_Model):
    """A uniform range that may be negative (levels in dB): {low: -18, high: -6}."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be at least low ({self.low})")
        return self

    def sample(self, rng):
        return float(rng.uniform(self.low, self.high))


class Uniform(Range):
    kind: Literal["uniform"]
    low: float = Field(ge=0)
    high: float = Field(ge=0)


class Exponential(_Model):
    kind: Literal["exponential"]
    mean: float = Field(gt=0)

    def sample(self, rng):
        return float(rng.exponential(self.mean))


class LogNormal(_Model):
    kind: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(gt=0, le=3)

    def sample(self, rng):
        return float(rng.lognormal(math.log(self.median), self.sigma))


Distribution = Annotated[Fixed | Uniform | Exponential | LogNormal, Field(discriminator="kind")]
Probability = Annotated[float, Field(ge=0, le=1)]


def _check_shares(shares, what):
    total = sum(shares.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"{what} shares add up to {total:g}; they must add up to 1")


class BoardSpec(_Model):
    # A virtual board is not bound by a card's 120 ports: a 300-seat call centre fits.
    trunks: int = Field(default=4, ge=1, le=1000)
    stations: int = Field(default=2, ge=0, le=1000)
    # Trunks whose exchange also signals a far-end hang-up with a loop-current drop.
    loop_current_drop: tuple[int, ...] = ()
    line_noise_dbm0: float = Field(default=-70.0, le=-40)
    # The 2-wire/4-wire hybrid of an analog line returns the appliance's own audio to it:
    # echo return loss in dB (None: no echo) and the echo path's delay within a block.
    echo_return_loss_db: float | None = Field(default=None, ge=3, le=60)
    echo_delay_ms: float = Field(default=4.0, ge=0, lt=20)

    @model_validator(mode="after")
    def _trunks_exist(self):
        bad = [t for t in self.loop_current_drop if not 0 <= t < self.trunks]
        if bad:
            raise ValueError(
                f"loop_current_drop names trunks {bad}; trunks are 0..{self.trunks - 1}"
            )
        return self


class Day(_Model):
    start: TimeOfDay = 9 * 3600
    end: TimeOfDay = 17 * 3600

    @model_validator(mode="after")
    def _ordered(self):
        if self.end <= self.start:
            raise ValueError("the day must end after it starts")
        return self


class Arrivals(_Model):
    """Poisson arrivals; the rate (calls per hour) is set per hour of the day. ``first_s``:
    the first caller rings that many seconds after the board starts (then Poisson again), so
    a demo shows a call at once instead of after a random wait."""

    default_per_hour: float = Field(default=0.0, ge=0)
    per_hour: dict[Annotated[int, Field(ge=0, le=23)], Annotated[float, Field(ge=0)]] = {}
    first_s: float | None = Field(default=None, ge=0)

    def rate(self, hour):
        return self.per_hour.get(hour, self.default_per_hour)


class Step(_Model):
    keys: str | None = None
    listen: bool = False
    wait_agent: bool = False
    hang_up: bool = False
    callback: str | None = Field(default=None, pattern=r"^[0-9*#]$")
    early: Probability | None = None
    wrong: Probability | None = None
    silent: Probability | None = None

    @model_validator(mode="after")
    def _one_action(self):
        chosen = [n for n in ("keys", "listen", "wait_agent", "hang_up", "callback")
                  if getattr(self, n) not in (None, False)]
        if len(chosen) != 1:
            raise ValueError(
                f"a step does {chosen or 'nothing'}; it must do exactly one of keys, "
                "listen, wait_agent, hang_up, callback"
            )
        if self.keys is not None:
            names = _PLACEHOLDER.findall(self.keys)
            unknown = [n for n in names if n not in PLACEHOLDERS]
            bare = _PLACEHOLDER.sub("", self.keys)
            if unknown or not self.keys or any(k not in DTMF_KEYS for k in bare):
                raise ValueError(
                    f"keys {self.keys!r}: expected DTMF keys {DTMF_KEYS} and the "
                    f"placeholders {{{'}, {'.join(PLACEHOLDERS)}}}"
                )
        return self


class Language(_Model):
    share: Probability
    key: str = Field(pattern=r"^[0-9*#]$")


class Account(_Model):
    card: str
    pin: str = Field(pattern=r"^[0-9]{6}$")

    @field_validator("card")
    @classmethod
    def _luhn(cls, card):
        if not (13 <= len(card) <= 19 and luhn_valid(card)):
            raise ValueError("a card number must be 13-19 digits passing the Luhn check")
        return card


class Goal(_Model):
    share: Probability
    steps: tuple[Step, ...]
    # Cards this goal's callers use instead of callers.accounts (empty: those). A card loss
    # blocks its card at the bank host, so card-loss callers keep to their own cards.
    accounts: tuple[Account, ...] = ()

    @field_validator("steps")
    @classmethod
    def _not_empty(cls, steps):
        if not steps:
            raise ValueError("a goal needs at least one step")
        return steps


class CallerIdMix(_Model):
    private_share: Probability = 0.03  # number withheld: 'P'
    unavailable_share: Probability = 0.02  # no number delivered: 'O'


class Vip(_Model):
    share: Probability = 0.0
    numbers: tuple[Annotated[str, Field(pattern=r"^[0-9]{5,15}$")], ...] = ()

    @model_validator(mode="after")
    def _numbers_for_share(self):
        if self.share > 0 and not self.numbers:
            raise ValueError("a VIP share above 0 needs at least one VIP number")
        return self


class CallbackAnswer(_Model):
    """How callers who asked for a call back take it: each attempt finds them busy, or
    nobody picks up, or they answer after `answer_delay` seconds of ringing. A caller asks
    at its first turn in the queue, or after `ask_after_s` when nothing is said there."""

    answer_delay: Distribution = Uniform(kind="uniform", low=3.0, high=12.0)
    busy: Probability = 0.1
    no_answer: Probability = 0.1
    ask_after_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _shares(self):
        if self.busy + self.no_answer > 1:
            raise ValueError(f"busy ({self.busy}) and no_answer ({self.no_answer}) add up to "
                             "more than 1")
        return self


class Callers(_Model):
    caller_id: CallerIdMix = CallerIdMix()
    callback: CallbackAnswer = CallbackAnswer()
    vip: Vip = Vip()
    languages: dict[str, Language]
    accounts: tuple[Account, ...]
    prelude: tuple[Step, ...] = ()
    goals: dict[str, Goal]
    ring_patience: Distribution = LogNormal(kind="lognormal", median=30.0, sigma=0.4)
    ivr_patience: Distribution = LogNormal(kind="lognormal", median=120.0, sigma=0.4)
    queue_patience: Distribution = LogNormal(kind="lognormal", median=90.0, sigma=0.6)

    @field_validator("languages", "accounts", "goals")
    @classmethod
    def _not_empty(cls, value, info):
        if not value:
            raise ValueError(f"at least one entry is needed under {info.field_name}")
        return value

    @field_validator("languages")
    @classmethod
    def _language_shares(cls, languages):
        _check_shares({k: v.share for k, v in languages.items()}, "language")
        return languages

    @field_validator("goals")
    @classmethod
    def _goal_shares(cls, goals):
        _check_shares({k: v.share for k, v in goals.items()}, "goal")
        return goals


class Keypad(_Model):
    """How callers press keys and how often they get it wrong."""

    # Per caller, the level of the low tone as received, and the high tone's excess over it;
    # ITU-T Q.24 receivers must take 0 to -25 dBm per tone and twist +4/-8 dB.
    level_dbm0: Range = Range(low=-18.0, high=-6.0)
    twist_db: Range = Range(low=0.0, high=3.0)
    key_ms: Distribution = Uniform(kind="uniform", low=70.0, high=200.0)
    gap_ms: Distribution = Uniform(kind="uniform", low=100.0, high=300.0)
    think_s: Distribution = LogNormal(kind="lognormal", median=1.2, sigma=0.5)
    early: Probability = 0.1
    wrong: Probability = 0.04
    silent: Probability = 0.03
    max_attempts: int = Field(default=3, ge=1)


class Listening(_Model):
    """How a caller hears the appliance: a prompt is sound above `hear_dbm0`; it has ended
    (the caller's turn) after `turn_silence_s` of quiet."""

    hear_dbm0: float = Field(default=-40.0, le=-10)
    turn_silence_s: float = Field(default=1.0, gt=0.1, le=10)
    # After the agent has left and nothing is said for this long, the caller hangs up.
    done_silence_s: float = Field(default=5.0, gt=0)


class Survey(_Model):
    answer_share: Probability = 0.6
    scores: dict[Annotated[int, Field(ge=1, le=5)], Annotated[float, Field(gt=0)]] = {
        5: 0.5, 4: 0.3, 3: 0.1, 2: 0.05, 1: 0.05,
    }


class AgentCodes(_Model):
    """Keypad codes the agents key at their phones; {agent_id} and {reason} are filled in."""

    login: str = "*11{agent_id}#"
    ready: str = "*12#"
    not_ready: str = "*13{reason}#"
    end_wrapup: str = "*14#"
    logout: str = "*19#"


class Break(_Model):
    start: TimeOfDay
    end: TimeOfDay
    reason: int = Field(default=1, ge=0, le=99)


class Shift(_Model):
    start: TimeOfDay
    end: TimeOfDay
    breaks: tuple[Break, ...] = ()

    @model_validator(mode="after")
    def _ordered(self):
        if self.end <= self.start:
            raise ValueError("a shift must end after it starts")
        for b in self.breaks:
            if not self.start <= b.start < b.end <= self.end:
                raise ValueError("a break must lie inside its shift and end after it starts")
        return self


class AgentSpec(_Model):
    id: str = Field(pattern=r"^[0-9]{2,8}$")
    station: int = Field(ge=0)  # 0-based among the board's stations
    skills: tuple[str, ...] = ()
    shift: Shift


class Agents(_Model):
    answer_delay: Distribution = Uniform(kind="uniform", low=2.0, high=8.0)
    ring_no_answer: Probability = 0.05
    # After a ring goes unanswered the ACD makes the agent not ready ("no answer"); the
    # phone shows it and the agent keys ready again after this long.
    ready_again: Distribution = Uniform(kind="uniform", low=5.0, high=20.0)
    handle_time: Distribution = LogNormal(kind="lognormal", median=150.0, sigma=0.5)
    wrapup: Distribution | None = None  # None: the agent never keys end_wrapup
    talk_dbm0: float = Field(default=-20.0, ge=-40, le=-6)
    codes: AgentCodes = AgentCodes()
    roster: tuple[AgentSpec, ...] = ()

    @field_validator("roster")
    @classmethod
    def _unique(cls, roster):
        for attr in ("id", "station"):
            values = [getattr(a, attr) for a in roster]
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"agent {attr}s {twice} appear more than once; one each")
        return roster


class Scenario(_Model):
    name: str = "scenario"
    seed: int = 0
    board: BoardSpec = BoardSpec()
    day: Day = Day()
    arrivals: Arrivals = Arrivals()
    callers: Callers
    keypad: Keypad = Keypad()
    listening: Listening = Listening()
    talk_dbm0: float = Field(default=-20.0, ge=-40, le=-6)
    survey: Survey = Survey()
    agents: Agents = Agents()

    @model_validator(mode="after")
    def _stations_exist(self):
        for agent in self.agents.roster:
            if agent.station >= self.board.stations:
                raise ValueError(
                    f"agent {agent.id} sits at station {agent.station}; the board has "
                    f"stations 0..{self.board.stations - 1}"
                )
        return self


@dataclass(frozen=True, slots=True)
class ScenarioWarning:
    """Something valid that will not do what its author likely meant: where, what, the fix."""

    path: str
    message: str
    fix: str


def _hhmm(seconds):
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def scenario_warnings(scenario):
    """The roster checked against the day: shifts that lie wholly or partly outside it (the
    board's clock runs from ``day.start``; an agent whose shift began earlier logs in then)
    and a day that no agent works at all."""
    day = scenario.day
    hours = f"{_hhmm(day.start)}-{_hhmm(day.end)}"
    found = []
    working = 0
    for i, agent in enumerate(scenario.agents.roster):
        shift = agent.shift
        path = f"agents.roster.{i}.shift"
        span = f"agent {agent.id}'s shift {_hhmm(shift.start)}-{_hhmm(shift.end)}"
        if shift.end <= day.start or shift.start >= day.end:
            found.append(ScenarioWarning(
                path, f"{span} lies outside the day {hours}: the agent never works",
                f"move the shift into {hours}, or the day to cover the shift"))
            continue
        working += 1
        if shift.start < day.start:
            found.append(ScenarioWarning(
                path, f"{span} starts before the day {hours}: the agent logs in at "
                f"{_hhmm(day.start)}", f"start the shift at {_hhmm(day.start)} or later"))
        if shift.end > day.end:
            found.append(ScenarioWarning(
                path, f"{span} ends after the day {hours}: what it does after "
                f"{_hhmm(day.end)} is never played", f"end the shift at {_hhmm(day.end)} or "
                "earlier, or the day later"))
    if not working:
        found.append(ScenarioWarning(
            "agents.roster", f"no agent works in the day {hours}: every call queued for a "
            "person goes unanswered", f"add agents whose shifts lie in {hours}"))
    return found


def _problems(error):
    problems = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"]) or "(top)"
        message = item["msg"].removeprefix("Value error, ")
        problems.append((path, message, item.get("input")))
    return problems


def parse_scenario(text, source="<string>"):
    """Validate YAML text as a Scenario; raise ScenarioError naming every problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [("(file)", f"not valid YAML: {exc}", None)]) from exc
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, _problems(exc)) from exc


def load_scenario(path):
    """Read and validate a scenario file."""
    path = Path(path)
    return parse_scenario(path.read_text(encoding="utf-8"), str(path))
