"""A believable synthetic Chinese retail bank, written as interchange CSV files.

``generate_demo_bank`` writes the files described in docs/interchange-format.md plus
``product_yields.csv``: branches, staff, customers, monthly balances, products and
their yield history, holdings, satisfaction
surveys and large-transaction appointments. numpy for the simulation, pyarrow
(already a dependency, via pandas) for the CSV writing: its C++ writer and a
decimal type give exact ``1234.50`` amounts at millions of rows a second, which
``DataFrame.to_csv`` cannot. No Django import, so benchmarks and notebooks can use it.

Determinism: the same arguments give byte-identical files. Every random draw
comes from ``numpy.random.default_rng`` seeded with ``(seed, stream, chunk)``;
the only dates used are ``end_month`` and ``today``. Customers are simulated and
written in chunks of ``CHUNK_SIZE`` (chunk ``i`` always gets the same stream),
so a million customers fit in well under 1 GB.

Modelling choices that importers and the churn engine can rely on
-----------------------------------------------------------------
* **AUM** = ``deposit_balance`` + ``wealth_balance`` + *other AUM* (funds and
  the cash value of insurance, which the bank manages but monthly.csv has no
  column for). So ``aum >= deposit_balance + wealth_balance`` always, with
  equality for customers without funds or insurance. Each part is rounded to
  the cent before summing, so the identity is exact in the files.
* **Closure**: a customer who closes every account has ``status = closed``
  from the closing month on, with every amount and count zero; their rows
  continue to the last month (they do not stop). A customer who opens during
  the period has rows from the opening month only.
* **Segments** are latent, never a column: product-oriented customers hold a
  large wealth share and several wealth products, consumption-oriented ones
  borrow and spend on cards, service-oriented ones hold mostly deposits,
  survey often in branch, and react strongly to service incidents.
* **Churn**: each customer has a monthly hazard (higher for short tenure, a
  home region away from the branch, low satisfaction, recent service
  incidents, rate-sensitive product customers when competitors pay more).
  A churner leaves in one of three ways: closes everything, drains AUM to a
  competitor (AUM falls to 3-40%), or drifts to just above a tier floor and
  falls below it for good. 1-6 months before, a random mix of warning signs
  appears: a gradual AUM drain, a competitor holding with a maturity date, lower
  survey scores, a booked large withdrawal/transfer, fewer logins and
  transactions, an early loan payoff. One churner in five leaves with weak
  signs. Loyal customers show the same signs now and then (temporary dips that
  recover, diversifying into a competitor product whose money comes back at
  maturity, service incidents, large purchases, quiet months), so a model
  cannot be perfect. Churn events are simulated ``LOOKAHEAD_MONTHS`` past the
  end month, so the latest months hold customers who are about to leave.
* **Appointments** before the end month are in the past; bookings for the month
  after it are dated relative to ``today`` (today .. today + 9 days), and a few
  are always on ``today`` and ``today + 1`` so the lobby list has entries.
* **Yields**: monthly random walks around each product's level; products.csv
  carries the latest month's yield. Cards have no yield and no yield history;
  demand deposits pay a realistic 0.1-0.3%.
* **Holdings**: term products (our wealth products and time deposits,
  competitors' wealth products and deposits, insurance) roll over in chains
  with ``maturity_on = start_on + term_days``; funds, loans and cards are
  open-ended (empty maturity). A card's amount is its credit limit, a loan's its
  principal. Only holdings that started by the end of the end month appear.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from customers.tiers import tier_codes, tier_floor_of
from demo.world import WorldResponse, world_response_write

INTERCHANGE_COLUMNS: dict[str, list[str]] = {
    "branches.csv": ["branch_code", "name", "city"],
    "staff.csv": ["staff_code", "name", "branch_code", "role", "email"],
    "customers.csv": [
        "customer_id", "name", "gender", "birth_date", "id_number", "phone", "branch_code", "rm_code",
        "opened_on", "region", "annual_income", "credit_score",
    ],
    "monthly.csv": [
        "customer_id", "month", "aum", "deposit_balance", "wealth_balance", "loan_balance", "card_spend",
        "txn_count", "digital_logins", "products_held", "status",
    ],
    "products.csv": ["product_code", "provider", "name", "kind", "yield_pct", "term_days"],
    "product_yields.csv": ["product_code", "month", "yield_pct"],
    "holdings.csv": ["customer_id", "product_code", "amount", "start_on", "maturity_on"],
    "surveys.csv": ["customer_id", "surveyed_on", "score", "channel", "comment"],
    "appointments.csv": ["customer_id", "kind", "amount", "scheduled_on"],
}

CHUNK_SIZE = 25_000
LOOKAHEAD_MONTHS = 6
LARGE_TRANSACTION_MIN = 50_000.0  # branches ask for a booking from 50,000 CNY

PRODUCT, CONSUMPTION, SERVICE = 0, 1, 2
CLOSE, DRAIN, DOWNGRADE = 0, 1, 2

# Chinese New Year (first day), for the spending peak; years not listed use February.
_CNY = {
    2015: (2, 19), 2016: (2, 8), 2017: (1, 28), 2018: (2, 16), 2019: (2, 5), 2020: (1, 25), 2021: (2, 12),
    2022: (2, 1), 2023: (1, 22), 2024: (2, 10), 2025: (1, 29), 2026: (2, 17), 2027: (2, 6), 2028: (1, 26),
    2029: (2, 13), 2030: (2, 3), 2031: (1, 23), 2032: (2, 11), 2033: (1, 31), 2034: (2, 19), 2035: (2, 8),
}

# --- names and places -----------------------------------------------------------------------------

_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN_MALE = list("伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林阳建国峰亮成志海东文晨博然轩睿泽子天嘉振")
_GIVEN_FEMALE = list("芳娜敏静丽艳娟霞秀玲燕婷雪慧莹琳颖倩洁红梅兰琴云萍晶欣悦怡佳雨思涵梦诗璐菲月彤薇莉瑶")

# (code, name, city): a city commercial bank headquartered in Hangzhou, ordered so
# that any prefix of six or more spans several cities.
_BRANCHES = [
    ("BR01", "总行营业部", "杭州"), ("BR02", "城东支行", "杭州"), ("BR03", "城西支行", "杭州"),
    ("BR04", "宁波海曙支行", "宁波"), ("BR05", "滨江支行", "杭州"), ("BR06", "绍兴越城支行", "绍兴"),
    ("BR07", "西湖支行", "杭州"), ("BR08", "宁波江北支行", "宁波"), ("BR09", "萧山支行", "杭州"),
    ("BR10", "嘉兴南湖支行", "嘉兴"), ("BR11", "余杭支行", "杭州"), ("BR12", "湖州吴兴支行", "湖州"),
]
# City -> districts as (region text, 6-digit area code used in resident ID numbers).
_DISTRICTS = {
    "杭州": [("杭州市上城区", 330102), ("杭州市拱墅区", 330105), ("杭州市西湖区", 330106), ("杭州市滨江区", 330108),
           ("杭州市萧山区", 330109), ("杭州市余杭区", 330110), ("杭州市钱塘区", 330114)],
    "宁波": [("宁波市海曙区", 330203), ("宁波市江北区", 330205), ("宁波市北仑区", 330206), ("宁波市鄞州区", 330212)],
    "绍兴": [("绍兴市越城区", 330602), ("绍兴市柯桥区", 330603), ("绍兴市上虞区", 330604)],
    "嘉兴": [("嘉兴市南湖区", 330402), ("嘉兴市秀洲区", 330411)],
    "湖州": [("湖州市吴兴区", 330502), ("湖州市南浔区", 330503)],
}
# Customers who moved away from their branch (playbook reason 2: weak personal ties).
_FAR_REGIONS = [("上海市浦东新区", 310115), ("深圳市南山区", 440305), ("北京市朝阳区", 110105),
                ("成都市武侯区", 510107), ("苏州市工业园区", 320571), ("广州市天河区", 440106)]
_MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                    "156", "157", "158", "159", "166", "170", "176", "177", "180", "181", "182", "183", "185",
                    "186", "187", "188", "189", "191", "198", "199"]
_COMPETITORS = ["华信银行", "江南农商银行", "东港银行", "新城商业银行", "同盛银行", "远航银行"]

# Survey comments by segment (product, consumption, service) and score band (0-4, 5-7, 8-10).
_COMMENTS = [
    [["别的银行理财收益更高", "到期了也没人联系我", "产品收益太低，考虑转走", "推荐的产品亏了，很失望"],
     ["理财收益比别家低一点", "希望多推荐一些产品", "产品信息更新不及时", "收益一般"],
     ["理财产品收益稳定", "产品到期提醒很及时", "理财经理很专业", "收益符合预期"]],
    [["贷款审批太慢，已经在别家办了", "信用卡提额被拒", "利率比别的银行高", "手机银行经常登录不上"],
     ["信用卡额度有点低", "贷款利率还可以再低点", "积分兑换不太方便", "手机银行偶尔卡顿"],
     ["贷款审批很快", "信用卡优惠活动不错", "手机银行用着方便", "额度调整很及时"]],
    [["排队一个多小时，态度冷淡", "投诉了没人回复", "柜员态度很差", "搬家了，网点太远"],
     ["排队时间有点长", "服务还可以", "停车不方便", "等候区有点挤"],
     ["大堂经理很热情", "服务很周到", "办理业务很快", "工作人员很耐心"]],
]

# --- products -------------------------------------------------------------------------------------

_KINDS = ["deposit", "wealth", "fund", "insurance", "loan", "card"]
DEPOSIT, WEALTH, FUND, INSURANCE, LOAN, CARD = range(6)

# Our catalogue: (code, name, kind, yield %, term days or 0 for open-ended).
_OUR_PRODUCTS = [
    ("DB-DEP-01", "活期储蓄", DEPOSIT, 0.20, 0),
    ("DB-TD-03M", "三个月定期存款", DEPOSIT, 1.15, 90),
    ("DB-TD-01Y", "一年期定期存款", DEPOSIT, 1.45, 365),
    ("DB-TD-03Y", "三年期定期存款", DEPOSIT, 1.95, 1095),
    ("DB-WM-090", "稳盈90天理财", WEALTH, 2.35, 90),
    ("DB-WM-180", "稳盈180天理财", WEALTH, 2.60, 180),
    ("DB-WM-365", "稳盈一年理财", WEALTH, 2.85, 365),
    ("DB-FD-MMF", "现金宝货币基金", FUND, 1.75, 0),
    ("DB-FD-BND", "稳健债券基金", FUND, 3.05, 0),
    ("DB-IN-ANN", "金福年金保险", INSURANCE, 3.00, 3650),
    ("DB-LN-MTG", "个人住房贷款", LOAN, 3.55, 0),
    ("DB-LN-CON", "个人消费贷款", LOAN, 3.40, 0),
    ("DB-LN-BIZ", "个人经营贷款", LOAN, 3.65, 0),
    ("DB-CD-GLD", "金卡信用卡", CARD, np.nan, 0),
    ("DB-CD-PLT", "白金信用卡", CARD, np.nan, 0),
]
_OUR_DEMAND = 0
_OUR_TD = np.array([1, 2, 3])
_OUR_WEALTH = np.array([4, 5, 6])
_OUR_FUND = np.array([7, 8])
_OUR_INSURANCE = 9
_OUR_LOANS = np.array([10, 11, 12])  # mortgage, consumer, business
_OUR_CARDS = np.array([13, 14])  # gold, platinum


@dataclass(frozen=True)
class _Calendar:
    observed: int  # months written to monthly.csv
    horizon: int  # months simulated (observed + lookahead)
    months: np.ndarray  # datetime64[M], length horizon
    first_day: np.ndarray  # datetime64[D], length horizon + 1
    days: np.ndarray  # days in each month
    month_of_year: np.ndarray  # 1..12
    today: np.datetime64
    labels: pa.Array  # "YYYY-MM" of the observed months

    @property
    def period_start(self) -> np.datetime64:
        return self.first_day[0]

    @property
    def period_end(self) -> np.datetime64:
        """Last day of the end month: nothing after it is known, except bookings."""
        return self.first_day[self.observed] - np.timedelta64(1, "D")

    def day_in_month(self, k: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A date in month ``k`` (clipped to the horizon) at fraction ``u`` of the month."""
        k = np.clip(k, 0, self.horizon - 1)
        return self.first_day[k] + (u * self.days[k]).astype(np.int64)

    def month_index(self, dates: np.ndarray) -> np.ndarray:
        return (dates.astype("datetime64[M]") - self.months[0]).astype(np.int64)


def _calendar(*, months: int, end_month: str, today: dt.date) -> _Calendar:
    horizon = months + LOOKAHEAD_MONTHS
    first = np.datetime64(end_month, "M") - (months - 1)
    month_range = first + np.arange(horizon + 1)
    first_day = month_range.astype("datetime64[D]")
    month_range = month_range[:horizon]
    return _Calendar(
        observed=months,
        horizon=horizon,
        months=month_range,
        first_day=first_day,
        days=np.diff(first_day).astype(np.int64),
        month_of_year=month_range.astype(np.int64) % 12 + 1,
        today=np.datetime64(today, "D"),
        labels=pa.array([str(m) for m in month_range[:months]]),
    )


def _seasonality(cal: _Calendar) -> dict[str, np.ndarray]:
    """Per-month multipliers: CNY spending, year- and quarter-end deposit peaks."""
    years = cal.months.astype(np.int64) // 12 + 1970
    moy = cal.month_of_year
    cny_month = np.array([_CNY.get(int(y), (2, 1))[0] for y in years])
    is_cny = moy == cny_month
    before_cny = np.roll(is_cny, -1)
    before_cny[-1] = False
    quarter_end = np.isin(moy, [3, 6, 9])
    return {
        # Banks push deposits at year-end and quarter-ends; cash leaves for red packets at CNY.
        "deposit": 1 + 0.06 * (moy == 12) + 0.025 * quarter_end - 0.05 * is_cny,
        "card": 1 + 0.45 * is_cny + 0.15 * before_cny + 0.25 * (moy == 11) + 0.10 * (moy == 12),
        "txn": 1 + 0.25 * is_cny + 0.10 * (moy == 11) + 0.05 * (moy == 12),
        # Mobile banking keeps growing; CNY red packets bring people into the app.
        "login": (1 + 0.01 * np.arange(cal.horizon)) * (1 + 0.15 * is_cny),
    }


# --- the static world: branches, staff, products, yields ---------------------------------------------


@dataclass(frozen=True)
class _World:
    branch_codes: list[str]
    branch_cities: list[str]
    branch_weights: np.ndarray
    staff_rows: list[tuple[str, str, str, str, str]]
    rm_codes: pa.Array  # every RM, grouped by branch
    rm_offset: np.ndarray  # first RM of each branch in rm_codes
    rm_count: np.ndarray
    product_rows: list[tuple[str, str, str, str, float, int]]
    product_codes: pa.Array
    product_term: np.ndarray  # days, 0 = open-ended
    yields: np.ndarray  # (products, horizon) in %
    competitor_by_kind: dict[int, np.ndarray]
    best_competitor: dict[int, np.ndarray]  # kind -> product index with the best yield per month
    rate_pull: np.ndarray  # per-month hazard multiplier for rate-sensitive customers
    tier_floors: dict[str, float]  # the bank's AUM tier floors (customers.tiers)


def _names(rng: np.random.Generator, male: np.ndarray) -> pa.Array:
    n = len(male)
    weights = 1.0 / (np.arange(len(_SURNAMES)) + 6.0)
    surname = rng.choice(len(_SURNAMES), size=n, p=weights / weights.sum())
    pool_male, pool_female = pa.array(_GIVEN_MALE), pa.array(_GIVEN_FEMALE)

    def given() -> pa.Array:
        m = pool_male.take(pa.array(rng.integers(0, len(_GIVEN_MALE), n)))
        f = pool_female.take(pa.array(rng.integers(0, len(_GIVEN_FEMALE), n)))
        return pc.if_else(pa.array(male), m, f)

    first, second = given(), given()
    single = pa.array(rng.random(n) < 0.3)
    second = pc.if_else(single, pa.scalar(""), second)
    return pc.binary_join_element_wise(pa.array(_SURNAMES).take(pa.array(surname)), first, second, "")


def _email_domain(bank_name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", bank_name.lower()).strip("-") or "bank"
    return f"{slug}.example.com"


def _build_world(
    *, customers: int, seed: int, cal: _Calendar, bank_name: str, tier_floors: dict[str, float]
) -> _World:
    rng = np.random.default_rng([seed, 0])
    n_branches = int(np.clip(round(6 + 1.5 * np.log2(max(customers, 1) / 2500)), 6, 12))
    branches = _BRANCHES[:n_branches]
    weights = rng.uniform(0.7, 1.3, n_branches)
    weights[0] *= 1.5  # the head-office branch is the biggest
    weights /= weights.sum()

    # Staff: per branch a head, one or two lobby managers and RMs for ~600 customers each.
    domain = _email_domain(bank_name)
    rm_count = np.maximum(2, np.round(customers * weights / 600)).astype(np.int64)
    lobby_count = 1 + (rng.random(n_branches) < 0.5)
    roles: list[tuple[str, str]] = []
    for b, (code, _name, _city) in enumerate(branches):
        roles += [(code, "head")] + [(code, "lobby")] * int(lobby_count[b]) + [(code, "rm")] * int(rm_count[b])
    roles += [(branches[0][0], "analyst")] * 2
    staff_names = _names(rng, rng.random(len(roles)) < 0.5).to_pylist()
    staff_rows = []
    for i, ((branch_code, role), name) in enumerate(zip(roles, staff_names, strict=True)):
        staff_code = f"E{i + 1:05d}"
        staff_rows.append((staff_code, name, branch_code, role, f"{staff_code.lower()}@{domain}"))
    rm_codes = [row[0] for row in staff_rows if row[3] == "rm"]
    rm_offset = np.concatenate([[0], np.cumsum(rm_count)[:-1]])

    # Products: ours, then 3-5 competitors with wealth products, a time deposit and a fund.
    competitors = [_COMPETITORS[i] for i in rng.permutation(len(_COMPETITORS))[: rng.integers(3, 6)]]
    rows: list[tuple[str, str, str, int, float, int]] = [
        (code, bank_name, name, kind, level, term) for code, name, kind, level, term in _OUR_PRODUCTS
    ]
    our_wealth_level = {90: 2.35, 180: 2.60, 365: 2.85}
    for j, bank in enumerate(competitors):
        prefix = f"C{j + 1}"
        for term in sorted(rng.choice([90, 180, 365], size=int(rng.integers(2, 4)), replace=False)):
            level = float(np.clip(our_wealth_level[int(term)] + rng.normal(0.15, 0.25), 1.5, 4.5))
            rows.append((f"{prefix}-WM-{term:03d}", bank, f"{bank[:2]}{_wealth_label(int(term))}", WEALTH, level,
                         int(term)))
        term = int(rng.choice([180, 365]))
        rows.append((f"{prefix}-TD-{term:03d}", bank, f"{bank[:2]}{'半年' if term == 180 else '一年'}定期存款",
                     DEPOSIT, float(rng.uniform(1.5, 2.1)), term))
        rows.append((f"{prefix}-FD-001", bank, f"{bank[:2]}{rng.choice(['货币', '债券', '固收+'])}基金", FUND,
                     float(rng.uniform(1.8, 3.4)), 0))

    levels = np.array([r[4] for r in rows])
    kinds = np.array([r[3] for r in rows])
    is_ours = np.array([r[1] == bank_name for r in rows])
    # Yields: a shared downward drift (China's rates fell for years) plus each product's own AR(1) wobble;
    # deposit and loan rates move in small steps, wealth products and funds every month.
    horizon = cal.horizon
    common = np.cumsum(rng.normal(-0.012, 0.03, horizon))
    common -= common[cal.observed - 1]
    own = np.zeros((len(rows), horizon))
    sd = np.where(np.isin(kinds, [WEALTH, FUND]), 0.08, 0.02)
    for k in range(1, horizon):
        own[:, k] = 0.8 * own[:, k - 1] + rng.normal(0, sd)
    steps = np.where(np.isin(kinds, [DEPOSIT, LOAN, INSURANCE]), 0.5, 1.0)
    yields: np.ndarray = levels[:, None] + steps[:, None] * common[None, :] + own
    yields = np.where(kinds[:, None] == DEPOSIT, np.round(yields * 20) / 20, yields)  # 5-bp steps
    floor = np.where(levels < 1, 0.05, 1.0)
    yields = np.round(np.maximum(yields, floor[:, None]), 2)
    yields[np.isnan(levels)] = np.nan

    competitor_by_kind = {kind: np.flatnonzero((kinds == kind) & ~is_ours) for kind in (DEPOSIT, WEALTH, FUND)}
    best = {kind: idx[np.argmax(yields[idx], axis=0)] for kind, idx in competitor_by_kind.items()}
    gap = yields[competitor_by_kind[WEALTH]].max(axis=0) - yields[_OUR_WEALTH].max(axis=0)
    rate_pull = np.clip(np.exp(1.5 * (gap - np.median(gap))), 0.6, 1.8)

    product_rows = [
        (code, provider, name, _KINDS[kind], float(yields[i, cal.observed - 1]), term)
        for i, (code, provider, name, kind, _level, term) in enumerate(rows)
    ]
    return _World(
        branch_codes=[b[0] for b in branches],
        branch_cities=[b[2] for b in branches],
        branch_weights=weights,
        staff_rows=staff_rows,
        rm_codes=pa.array(rm_codes),
        rm_offset=rm_offset,
        rm_count=rm_count,
        product_rows=product_rows,
        product_codes=pa.array([r[0] for r in rows]),
        product_term=np.array([r[5] for r in rows], dtype=np.int64),
        yields=yields,
        competitor_by_kind=competitor_by_kind,
        best_competitor=best,
        rate_pull=rate_pull,
        tier_floors=tier_floors,
    )


def _wealth_label(term: int) -> str:
    return {90: "季享90天理财", 180: "半年盈理财", 365: "年年盈理财"}[term]


# --- the customers -----------------------------------------------------------------------------------


def _money(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """CNY amounts as decimal(18, 2): written as ``1234.50``, never as a float repr."""
    cents = np.ascontiguousarray(np.round(np.asarray(values, dtype=np.float64) * 100), dtype=np.int64)
    return _cents(cents, valid)


def _cents(cents: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # two's-complement sign extension to 128 bits
    bitmap, nulls = None, 0
    if valid is not None:
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        nulls = int(len(valid) - np.count_nonzero(valid))
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(cents), [bitmap, pa.py_buffer(words)], null_count=nulls)


def _dates(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(values.astype("datetime64[D]"), type=pa.date32(), mask=mask)


def _choose(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One category per row of a (n, k) probability matrix."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities))[:, None] * cumulative[:, -1:]
    return (u > cumulative).sum(axis=1)


def _ramp(k: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """0 before ``start``, rising linearly to 1 at ``start + length - 1``, 1 after."""
    return np.clip((k - start[:, None] + 1) / length[:, None], 0.0, 1.0)


@dataclass(frozen=True)
class _People:
    """Who the chunk's customers are: wealth, segment, age, tenure, branch and RM, traits."""

    base_aum: np.ndarray
    segment: np.ndarray
    is_p: np.ndarray
    is_c: np.ndarray
    is_s: np.ndarray
    age: np.ndarray
    male: np.ndarray
    birth: np.ndarray
    new: np.ndarray  # opens during the period
    open_month: np.ndarray  # -1: opened before the period
    opened_on: np.ndarray
    tenure_years: np.ndarray
    active_from: np.ndarray  # first month with a monthly row
    branch: np.ndarray
    rm: np.ndarray
    moved_away: np.ndarray
    sat_trait: np.ndarray
    income: np.ndarray


def _draw_people(world: _World, cal: _Calendar, rng: np.random.Generator, n: int) -> _People:
    M = cal.observed
    # Base AUM: heavy-tailed lognormal (median 28k, sigma 2): ~61% mass, 31% gold, 7% platinum, 0.4% private
    # before churn; among active customers at the end month about 68 / 26 / 5.5 / 0.3%.
    base_aum = np.minimum(np.exp(np.log(28_000) + 2.0 * rng.standard_normal(n)), 2e8)
    z = (np.log(base_aum) - np.log(28_000)) / 2.0
    # Richer customers lean to wealth products; the young and the modest to loans and cards.
    segment_logits = np.stack([0.1 + 0.8 * z, 0.25 - 0.5 * z, np.zeros(n)], axis=1)
    segment = _choose(rng, np.exp(segment_logits))
    is_p, is_c, is_s = segment == PRODUCT, segment == CONSUMPTION, segment == SERVICE

    age = np.select(
        [is_c, is_p], [rng.normal(36, 8, n), rng.normal(48, 11, n)], rng.normal(56, 12, n)
    ).clip(21, 88)
    male = rng.random(n) < np.where(is_p, 0.45, 0.52)
    birth = cal.period_end - (age * 365.25).astype(np.int64) - rng.integers(0, 365, n)
    # Tenure: ~12% open during the period, the rest joined up to decades ago (never before age 18).
    new = rng.random(n) < 0.12
    open_month = np.where(new, rng.integers(0, M, n), -1)
    tenure_days = np.minimum(rng.exponential(7 * 365, n), (age - 18.5) * 365).astype(np.int64) + 30
    opened_on = np.where(
        new, cal.day_in_month(open_month, rng.random(n)), cal.period_start - tenure_days
    ).astype("datetime64[D]")
    tenure_years = (cal.period_start - opened_on).astype(np.int64) / 365.25
    active_from = np.maximum(open_month, 0)

    branch = rng.choice(len(world.branch_codes), size=n, p=world.branch_weights)
    rm = world.rm_offset[branch] + (rng.random(n) * world.rm_count[branch]).astype(np.int64)
    moved_away = rng.random(n) < 0.06
    sat_trait = np.clip(rng.normal(8.0, np.where(is_s, 1.4, 1.0)), 2.5, 10.0)
    income = np.round(np.exp(np.log(90_000) + 0.3 * (np.log(base_aum) - np.log(28_000)) + rng.normal(0, 0.5, n))
                      * np.where(is_c, 1.2, 1.0), -3)
    return _People(
        base_aum=base_aum, segment=segment, is_p=is_p, is_c=is_c, is_s=is_s, age=age, male=male, birth=birth,
        new=new, open_month=open_month, opened_on=opened_on, tenure_years=tenure_years, active_from=active_from,
        branch=branch, rm=rm, moved_away=moved_away, sat_trait=sat_trait, income=income,
    )


@dataclass(frozen=True)
class _Portfolio:
    """What each customer holds with us: wealth, funds, insurance, time deposits, loans, cards."""

    has_wealth: np.ndarray
    wealth_share: np.ndarray
    n_wealth: np.ndarray
    has_fund: np.ndarray
    has_insurance: np.ndarray
    fund_share: np.ndarray
    insurance_share: np.ndarray
    other_share: np.ndarray  # funds and insurance: AUM without a monthly.csv column
    has_td: np.ndarray
    has_loan: np.ndarray
    loan_kind: np.ndarray
    principal: np.ndarray
    loan_term: np.ndarray
    loan_start: np.ndarray
    has_card: np.ndarray
    card_limit: np.ndarray
    spend_rate: np.ndarray
    txn_base: np.ndarray
    login_base: np.ndarray


def _draw_portfolio(cal: _Calendar, rng: np.random.Generator, people: _People) -> _Portfolio:
    n, H = len(people.base_aum), cal.horizon
    is_p, is_c, is_s, base_aum = people.is_p, people.is_c, people.is_s, people.base_aum
    has_wealth = np.select([is_p, is_c], [np.ones(n, bool), rng.random(n) < 0.3], rng.random(n) < 0.5)
    has_wealth &= base_aum > 5_000
    wealth_share = np.select([is_p, is_c], [rng.beta(5, 3, n), rng.uniform(0.05, 0.25, n)], rng.uniform(0.1, 0.4, n))
    wealth_share = np.where(has_wealth, wealth_share, 0.0)
    n_wealth = np.where(has_wealth, np.where(is_p, 1 + rng.binomial(2, 0.4, n), 1), 0)
    has_fund = (rng.random(n) < np.select([is_p, is_c], [0.6, 0.1], 0.1)) & (base_aum > 5_000)
    has_insurance = (rng.random(n) < np.select([is_p, is_c], [0.15, 0.05], 0.35)) & (base_aum > 20_000)
    fund_share = np.where(has_fund, rng.uniform(0.04, np.where(is_p, 0.2, 0.08)), 0.0)
    insurance_share = np.where(has_insurance, rng.uniform(0.04, 0.2, n), 0.0)
    other_share = fund_share + insurance_share
    scale = np.minimum(1.0, 0.92 / np.maximum(wealth_share + other_share, 1e-9))
    wealth_share, fund_share, insurance_share = wealth_share * scale, fund_share * scale, insurance_share * scale
    other_share = fund_share + insurance_share
    has_td = rng.random(n) < np.select([is_p, is_c], [0.2, 0.15], 0.6)

    has_loan = rng.random(n) < np.select([is_p, is_c], [0.10, 0.70], 0.08)
    loan_kind = _choose(rng, np.tile([0.6, 0.3, 0.1], (n, 1)))  # mortgage, consumer, business
    principal = np.round(np.exp(np.array([np.log(800_000), np.log(80_000), np.log(500_000)])[loan_kind]
                                + rng.normal(0, 0.5, n)), -3)
    loan_term = np.array([360, 36, 60])[loan_kind]
    loan_start = np.where(rng.random(n) < 0.15, rng.integers(0, H, n), -(rng.random(n) * loan_term).astype(np.int64))
    loan_start = np.maximum(loan_start, people.open_month)

    has_card = rng.random(n) < np.select([is_p, is_c], [0.5, 0.9], 0.35)
    card_limit = np.clip(np.round(people.income * rng.uniform(0.1, 0.4, n), -3), 5_000, 500_000)
    spend_rate = np.where(is_c, rng.uniform(0.15, 0.45, n), rng.uniform(0.02, 0.12, n))
    txn_base = np.exp(np.select([is_c, is_p], [np.log(32), np.log(12)], np.log(8)) + rng.normal(0, 0.35, n))
    login_base = np.exp(np.log(12) - 0.04 * (people.age - 40) + rng.normal(0, 0.4, n)) * np.select(
        [is_c, is_s], [1.3, 0.5], 1.0
    )
    return _Portfolio(
        has_wealth=has_wealth, wealth_share=wealth_share, n_wealth=n_wealth, has_fund=has_fund,
        has_insurance=has_insurance, fund_share=fund_share, insurance_share=insurance_share,
        other_share=other_share, has_td=has_td, has_loan=has_loan, loan_kind=loan_kind, principal=principal,
        loan_term=loan_term, loan_start=loan_start, has_card=has_card, card_limit=card_limit,
        spend_rate=spend_rate, txn_base=txn_base, login_base=login_base,
    )


@dataclass(frozen=True)
class _Incidents:
    """Service incidents (loyal customers have them too): they lower the next surveys and raise the hazard."""

    hazard_draw: np.ndarray  # (n, H) uniform draws that decide the churn month
    recent: np.ndarray  # (n, H) incidents in the three months before
    window: np.ndarray  # (n, H) the incident month and the two after it
    survey_drop: np.ndarray  # (n, H) points off the survey score


def _draw_incidents(cal: _Calendar, rng: np.random.Generator, people: _People) -> _Incidents:
    n, H = len(people.base_aum), cal.horizon
    # Drawn here, before the incidents, so that the random stream keeps its order.
    u = rng.random((n, H))
    incident = rng.random((n, H)) < 0.015
    incident_recent = np.zeros((n, H))
    for lag in (1, 2, 3):
        incident_recent[:, lag:] += incident[:, :-lag]
    incident_window = incident.copy()  # the incident month and the two after it
    for lag in (1, 2):
        incident_window[:, lag:] |= incident[:, :-lag]
    incident_drop = np.where(people.is_s, rng.uniform(3, 5, n), rng.uniform(1.5, 3, n))[:, None] * incident_window
    return _Incidents(hazard_draw=u, recent=incident_recent, window=incident_window, survey_drop=incident_drop)


@dataclass(frozen=True)
class _Churn:
    """Who churns, when (``tau``), how (``ctype``), and which warning signs they show before."""

    churner: np.ndarray
    tau: np.ndarray  # churn month; past the horizon for loyal customers
    ctype: np.ndarray  # CLOSE, DRAIN or DOWNGRADE
    weak: np.ndarray  # leaves with weak signs
    lead: np.ndarray  # months of warning signs
    lead_start: np.ndarray
    gradual: np.ndarray
    competitor_sign: np.ndarray
    satisfaction_sign: np.ndarray
    appointment_sign: np.ndarray
    activity_sign: np.ndarray
    loan_payoff: np.ndarray


def _draw_churn(
    world: _World, cal: _Calendar, rng: np.random.Generator, people: _People, portfolio: _Portfolio,
    incidents: _Incidents,
) -> _Churn:
    n, H = len(people.base_aum), cal.horizon
    k = np.arange(H)[None, :]
    is_p, is_c, is_s, tenure_years = people.is_p, people.is_c, people.is_s, people.tenure_years
    tenure_mult = np.select([tenure_years < 1, tenure_years < 3, tenure_years < 10], [1.8, 1.3, 1.0], 0.6)
    frailty = np.exp(rng.normal(-0.08, 0.4, n))  # mean 1
    hazard = (
        0.0175
        * np.select([is_p, is_c], [1.1, 1.0], 0.9)[:, None]
        * tenure_mult[:, None]
        * np.where(people.moved_away, 2.2, 1.0)[:, None]
        * np.where(people.sat_trait < 6, np.where(is_s, 2.5, 1.6), 1.0)[:, None]
        * np.where(people.age > 65, 0.8, 1.0)[:, None]
        * np.where(people.base_aum > world.tier_floors["private"], 0.7, 1.0)[:, None]
        * frailty[:, None]
        * np.where(is_p[:, None], world.rate_pull[None, :], 1.0)
        * np.where(incidents.recent > 0, np.where(is_s, 2.5, 1.3)[:, None], 1.0)
    )
    hazard[k < people.active_from[:, None] + np.where(people.new, 3, 1)[:, None]] = 0.0
    event = incidents.hazard_draw < hazard
    churner = event.any(axis=1)
    tau = np.where(churner, event.argmax(axis=1), H + 100)
    ctype = _choose(rng, np.select(
        [is_p[:, None], is_c[:, None]], [[0.15, 0.6, 0.25], [0.35, 0.35, 0.3]], [0.45, 0.35, 0.2]
    ) * np.ones((n, 1)))
    weak = churner & (rng.random(n) < 0.2)
    lead = np.minimum(np.where(weak, 1, rng.choice(np.arange(1, 7), n, p=[0.2, 0.25, 0.2, 0.15, 0.1, 0.1])),
                      np.maximum(tau - people.active_from, 1))
    lead_start = tau - lead
    sign_scale = np.where(weak, 0.2, 1.0)

    def sign(p: np.ndarray | float) -> np.ndarray:
        return churner & (rng.random(n) < np.asarray(p) * sign_scale)

    gradual = sign(np.select([ctype == DRAIN, ctype == CLOSE], [0.65, 0.35], 0.8))
    competitor_sign = sign(np.select(
        [ctype == DRAIN, ctype == CLOSE],
        [np.where(is_p, 0.8, 0.4), np.where(is_p, 0.3, 0.2)],
        np.where(is_p, 0.35, 0.2),
    ))
    satisfaction_sign = sign(np.where(is_s, 0.75, 0.3))
    appointment_sign = sign(np.select([ctype == CLOSE, ctype == DRAIN], [0.6, 0.4], 0.25))
    activity_sign = sign(np.where(ctype == CLOSE, 0.75, 0.6))
    loan_payoff = churner & portfolio.has_loan & ((ctype == CLOSE) | (is_c & (rng.random(n) < 0.4)))
    return _Churn(
        churner=churner, tau=tau, ctype=ctype, weak=weak, lead=lead, lead_start=lead_start, gradual=gradual,
        competitor_sign=competitor_sign, satisfaction_sign=satisfaction_sign, appointment_sign=appointment_sign,
        activity_sign=activity_sign, loan_payoff=loan_payoff,
    )


@dataclass(frozen=True)
class _LoyalPath:
    """AUM and activity as they would be without churn, with the wobbles loyal customers show."""

    aum: np.ndarray  # (n, H)
    diversify: np.ndarray
    diversify_month: np.ndarray
    diversify_share: np.ndarray
    diversify_product: np.ndarray
    purchase: np.ndarray
    purchase_month: np.ndarray
    purchase_share: np.ndarray
    activity: np.ndarray  # (n, H) multiplier of logins, transactions and card spend


def _simulate_loyal_path(world: _World, cal: _Calendar, rng: np.random.Generator, people: _People) -> _LoyalPath:
    n, H = len(people.base_aum), cal.horizon
    k = np.arange(H)[None, :]
    is_p, is_c, base_aum, active_from = people.is_p, people.is_c, people.base_aum, people.active_from
    # Level x trend x AR(1) noise x new-customer ramp x wobbles.
    x = np.empty((n, H))
    x[:, 0] = rng.normal(0, 0.115, n)
    shocks = rng.normal(0, 0.05, (n, H))
    for m in range(1, H):
        x[:, m] = 0.9 * x[:, m - 1] + shocks[:, m]
    growth = rng.normal(0.002, 0.006, n)
    aum0 = base_aum[:, None] * np.exp(growth[:, None] * k + x)
    since_open = k - people.open_month[:, None]
    aum0 *= np.where(people.new[:, None], np.interp(since_open, [0, 1, 2, 3], [0.35, 0.65, 0.85, 1.0]), 1.0)

    # Temporary dips that recover (the recovery prize draw needs these): 1-2 months, then back above.
    dip = rng.random((n, H)) < 0.010
    depth = rng.uniform(0.15, 0.6, (n, H))
    two_months = dip & (rng.random((n, H)) < 0.4)
    factor = np.where(dip, 1 - depth, 1.0)
    factor[:, 1:] *= np.where(two_months[:, :-1], 1 - depth[:, :-1], 1.0)
    recovered = np.zeros((n, H), dtype=bool)
    recovered[:, 1:] |= dip[:, :-1] & ~two_months[:, :-1]
    recovered[:, 2:] |= two_months[:, :-2]
    factor *= np.where(recovered & ~dip, 1 + rng.uniform(0.02, 0.08, (n, H)), 1.0)

    # Diversifying into a competitor's product: money leaves until it matures, then mostly returns.
    diversify = rng.random(n) < np.select([is_p, is_c], [0.25, 0.06], 0.08)
    diversify_month = rng.integers(0, H, n)
    diversify &= (diversify_month >= active_from) & (base_aum > 20_000)
    diversify_share = rng.uniform(0.1, 0.4, n)
    diversify_product = _pick_competitor(world, rng, diversify_month, prefer_best=is_p)
    diversify_term = world.product_term[diversify_product]
    diversify_back = diversify_month + np.where(diversify_term > 0, np.ceil(diversify_term / 30.4),
                                                rng.integers(3, 10, n)).astype(np.int64)
    diversify_returns = rng.random(n) < 0.7
    out = diversify[:, None] & (k >= diversify_month[:, None]) & (
        (k < diversify_back[:, None]) | ~diversify_returns[:, None])
    factor *= np.where(out, 1 - diversify_share[:, None], 1.0)

    # A large purchase (house, car): a booked withdrawal, then savings slowly rebuild.
    purchase = (rng.random(n) < 0.08) & (base_aum > 100_000)
    purchase_month = rng.integers(0, H, n)
    purchase &= purchase_month >= active_from
    purchase_share = rng.uniform(0.15, 0.45, n)
    rebuild = rng.integers(3, 13, n)
    spent = purchase_share[:, None] * (1 - 0.6 * _ramp(k, purchase_month + 1, rebuild))
    factor *= np.where(purchase[:, None] & (k >= purchase_month[:, None]), 1 - spent, 1.0)
    aum0 *= factor

    # Quiet months (travel, illness): fewer logins and transactions, then back to normal.
    quiet = rng.random(n) < 0.15
    quiet_month = rng.integers(0, H, n)
    quiet_level = rng.uniform(0.3, 0.7, n)
    activity = np.where(
        quiet[:, None] & (k >= quiet_month[:, None]) & (k < quiet_month[:, None] + rng.integers(2, 4, n)[:, None]),
        quiet_level[:, None], 1.0)
    return _LoyalPath(
        aum=aum0, diversify=diversify, diversify_month=diversify_month, diversify_share=diversify_share,
        diversify_product=diversify_product, purchase=purchase, purchase_month=purchase_month,
        purchase_share=purchase_share, activity=activity,
    )


@dataclass(frozen=True)
class _ChurnPath:
    """AUM, activity and survey scores once the churners' trajectories are laid over the loyal path."""

    ctype: np.ndarray  # a downgrade from the mass tier becomes a drain
    aum_ref: np.ndarray  # AUM the month before the warning signs start
    after: np.ndarray  # (n, H) from the churn month on
    remaining: np.ndarray  # share of AUM a drainer leaves behind
    close_month: np.ndarray
    churn_product: np.ndarray  # the competitor product the money goes to
    below_floor: np.ndarray  # where a downgrader ends up
    aum: np.ndarray  # (n, H)
    closed: np.ndarray  # (n, H)
    activity: np.ndarray  # (n, H)
    survey_drop: np.ndarray  # (n, H)


def _simulate_churn_path(
    world: _World, cal: _Calendar, rng: np.random.Generator, people: _People, churn: _Churn,
    incidents: _Incidents, loyal: _LoyalPath,
) -> _ChurnPath:
    n, H = len(people.base_aum), cal.horizon
    k = np.arange(H)[None, :]
    lead_start, lead, tau, aum0 = churn.lead_start, churn.lead, churn.tau, loyal.aum
    rows_n = np.arange(n)
    ref_month = np.clip(lead_start - 1, 0, H - 1)
    aum_ref = aum0[rows_n, ref_month]
    ref_tier = tier_codes(aum_ref, world.tier_floors)
    ctype = np.where((churn.ctype == DOWNGRADE) & (ref_tier == 0), DRAIN, churn.ctype)
    in_lead = (k >= lead_start[:, None]) & (k < tau[:, None])
    after = k >= tau[:, None]
    progress = _ramp(k, lead_start, lead)  # 1/lead .. 1 through the lead months

    remaining = rng.uniform(0.03, 0.4, n)
    pre_drain = np.where(ctype == DRAIN, 0.6 * (1 - remaining), rng.uniform(0.2, 0.5, n))
    churn_factor = np.where(churn.gradual[:, None] & in_lead, 1 - pre_drain[:, None] * progress, 1.0)
    churn_factor = np.where(after & (ctype == DRAIN)[:, None], remaining[:, None], churn_factor)
    # Drainers sometimes close a few months later, or come back when the competitor product matures.
    close_later = (ctype == DRAIN) & (rng.random(n) < 0.2)
    close_month = np.select([ctype == CLOSE, close_later], [tau, tau + rng.integers(2, 6, n)], H + 100)
    churn_product = _pick_competitor(
        world, rng, np.clip(lead_start, 0, H - 1), prefer_best=people.is_p | (rng.random(n) < 0.4)
    )
    churn_term = world.product_term[churn_product]
    winback = (ctype == DRAIN) & churn.competitor_sign & ~close_later & (rng.random(n) < 0.15) & (churn_term > 0)
    winback_month = tau + np.ceil(np.maximum(churn_term, 90) / 30.4).astype(np.int64)
    churn_factor = np.where(winback[:, None] & (k >= winback_month[:, None]), 1 + rng.uniform(0, 0.05, n)[:, None],
                            churn_factor)
    aum = aum0 * churn_factor
    # Downgraders: drift to just above their tier floor, then fall below it and stay there.
    floor = tier_floor_of(ref_tier, world.tier_floors)
    downgrade = (ctype == DOWNGRADE) & churn.churner
    near_floor = floor * rng.uniform(1.0, 1.12, n)
    below_floor = floor * rng.uniform(0.55, 0.93, n)
    drift = aum_ref[:, None] * (near_floor / np.maximum(aum_ref, 1.0))[:, None] ** progress
    wobble = np.exp(rng.normal(0, 0.02, (n, H)))
    aum = np.where((downgrade & churn.gradual)[:, None] & in_lead, drift * wobble, aum)
    aum = np.where(downgrade[:, None] & after, np.minimum(below_floor[:, None] * wobble, floor[:, None] * 0.97), aum)
    closed = k >= close_month[:, None]
    aum = np.where(closed, 0.0, aum)

    activity_floor = rng.uniform(0.15, 0.6, n)
    activity = loyal.activity * np.where(
        churn.activity_sign[:, None] & in_lead, 1 - (1 - activity_floor[:, None]) * progress, 1.0)
    activity *= np.where(churn.churner[:, None] & after, np.where(churn.activity_sign, activity_floor, 0.75)[:, None],
                         1.0)

    satisfaction_drop = rng.uniform(2, 5, n) + people.is_s
    survey_drop = incidents.survey_drop + np.where(
        churn.satisfaction_sign[:, None] & (k >= lead_start[:, None]), satisfaction_drop[:, None] * progress, 0.0)
    return _ChurnPath(
        ctype=ctype, aum_ref=aum_ref, after=after, remaining=remaining, close_month=close_month,
        churn_product=churn_product, below_floor=below_floor, aum=aum, closed=closed, activity=activity,
        survey_drop=survey_drop,
    )


@dataclass(frozen=True)
class _Balances:
    """The observed months' balance breakdown and activity, as monthly.csv holds them."""

    deposit: np.ndarray
    wealth: np.ndarray
    deposit_c: np.ndarray  # cents
    wealth_c: np.ndarray
    aum_c: np.ndarray
    aum: np.ndarray  # CNY, exactly the sum of the rounded parts
    loan: np.ndarray
    card_spend: np.ndarray
    txn: np.ndarray
    logins: np.ndarray
    products_held: np.ndarray


def _balance_breakdown(
    cal: _Calendar, rng: np.random.Generator, people: _People, portfolio: _Portfolio, churn: _Churn,
    loyal: _LoyalPath, path: _ChurnPath,
) -> _Balances:
    """Observed months only: the look-ahead months only drive the signs."""
    n, M = len(people.base_aum), cal.observed
    is_p = people.is_p
    aum0, aum, closed, after = loyal.aum[:, :M], path.aum[:, :M], path.closed[:, :M], path.after[:, :M]
    k = np.arange(M)[None, :]
    activity = path.activity[:, :M]
    season = {name: factor[:M] for name, factor in _seasonality(cal).items()}
    share_noise = np.cumsum(rng.normal(0, 0.015, (n, M)), axis=1)
    wealth_share_t = np.where(portfolio.has_wealth[:, None],
                              np.clip(portfolio.wealth_share[:, None] + share_noise, 0.02, 0.95), 0.0)
    wealth_share_t = np.minimum(wealth_share_t, 1 - portfolio.other_share[:, None])
    wealth0 = aum0 * wealth_share_t
    other0 = aum0 * portfolio.other_share[:, None]
    deposit0 = aum0 - wealth0 - other0
    # Money that leaves comes mostly out of wealth products for product-oriented customers (they
    # do not renew), out of deposits for everyone else; a tenth of each pot stays, and whatever
    # is still to go leaves all three pots in proportion, so no pot of an open customer hits zero.
    lost = np.maximum(aum0 - aum, 0.0)
    gained = np.maximum(aum - aum0, 0.0)
    first_pot = np.where(is_p[:, None], wealth0, deposit0)
    second_pot = np.where(is_p[:, None], deposit0, wealth0)
    take1 = np.minimum(lost, 0.9 * first_pot)
    take2 = np.minimum(lost - take1, 0.9 * second_pot)
    first_pot, second_pot = first_pot - take1, second_pot - take2
    left = first_pot + second_pot + other0
    keep = np.where(left > 0, 1 - (lost - take1 - take2) / np.maximum(left, 1e-9), 0.0).clip(0, 1)
    wealth = np.where(is_p[:, None], first_pot, second_pot) * keep
    deposit = np.where(is_p[:, None], second_pot, first_pot) * keep + gained
    other = other0 * keep
    deposit *= season["deposit"][None, :]
    deposit_c = np.round(deposit * 100).astype(np.int64)
    wealth_c = np.round(wealth * 100).astype(np.int64)
    other_c = np.round(other * 100).astype(np.int64)
    deposit_c[closed] = wealth_c[closed] = other_c[closed] = 0
    aum_c = deposit_c + wealth_c + other_c
    aum_t = aum_c / 100.0

    loan_age = k - portfolio.loan_start[:, None]
    loan = np.where(portfolio.has_loan[:, None] & (loan_age >= 0),
                    portfolio.principal[:, None] * np.clip(1 - loan_age / portfolio.loan_term[:, None], 0, 1), 0.0)
    loan = np.where(closed | (churn.loan_payoff[:, None] & after), 0.0, loan)
    card_spend = np.where(portfolio.has_card[:, None] & ~closed,
                          portfolio.card_limit[:, None] * portfolio.spend_rate[:, None]
                          * season["card"][None, :] * activity * np.exp(rng.normal(-0.045, 0.3, (n, M))), 0.0)
    txn = rng.poisson(portfolio.txn_base[:, None] * activity * season["txn"][None, :])
    logins = rng.poisson(portfolio.login_base[:, None] * activity * season["login"][None, :])
    txn[closed] = 0
    logins[closed] = 0
    holds_wealth = wealth_c > 0
    products_held = (
        1 + portfolio.has_td[:, None] + portfolio.n_wealth[:, None] * holds_wealth
        + (portfolio.has_fund[:, None] & (other_c > 0))
        + portfolio.has_insurance[:, None] + (loan > 0) + portfolio.has_card[:, None]
    )
    products_held[closed] = 0
    return _Balances(
        deposit=deposit, wealth=wealth, deposit_c=deposit_c, wealth_c=wealth_c, aum_c=aum_c, aum=aum_t,
        loan=loan, card_spend=card_spend, txn=txn, logins=logins, products_held=products_held,
    )


def _monthly_table(cal: _Calendar, ids: pa.Array, people: _People, closed: np.ndarray, balances: _Balances) -> pa.Table:
    """One row per customer and observed month from the month they opened."""
    k = np.arange(cal.observed)[None, :]
    row_i, row_k = np.nonzero(k >= people.active_from[:, None])
    sel = (row_i, row_k)
    return pa.table({
        "customer_id": ids.take(pa.array(row_i)),
        "month": cal.labels.take(pa.array(row_k)),
        "aum": _cents(balances.aum_c[sel]),
        "deposit_balance": _cents(balances.deposit_c[sel]),
        "wealth_balance": _cents(balances.wealth_c[sel]),
        "loan_balance": _money(balances.loan[sel]),
        "card_spend": _money(balances.card_spend[sel]),
        "txn_count": pa.array(balances.txn[sel].astype(np.int64)),
        "digital_logins": pa.array(balances.logins[sel].astype(np.int64)),
        "products_held": pa.array(balances.products_held[sel].astype(np.int64)),
        "status": pa.array(np.where(closed[sel], "closed", "active")),
    })


def _holdings_parts(
    world: _World, cal: _Calendar, rng: np.random.Generator, people: _People, portfolio: _Portfolio,
    churn: _Churn, loyal: _LoyalPath, path: _ChurnPath, balances: _Balances,
) -> list[tuple[np.ndarray, ...]]:
    """(customer, product, amount, start, maturity) per kind of holding, ours and competitors'."""
    n, M = len(people.base_aum), cal.observed
    rows_n = np.arange(n)
    opened_on, active_from = people.opened_on, people.active_from
    aum0, deposit, wealth = loyal.aum[:, :M], balances.deposit, balances.wealth
    n_wealth = portfolio.n_wealth
    parts: list[tuple[np.ndarray, ...]] = []

    def add(cust, product, amount, start, maturity=None, minimum=1_000.0):
        maturity = np.full(len(cust), np.datetime64("NaT"), "datetime64[D]") if maturity is None else maturity
        keep = (start <= cal.period_end) & (amount >= minimum)
        parts.append((cust[keep], product[keep], amount[keep], start[keep], maturity[keep]))

    add(rows_n, np.full(n, _OUR_DEMAND), np.round(deposit[rows_n, active_from], 2), opened_on, minimum=0.01)
    # Term products roll over until the customer closes; a drained customer renews smaller amounts
    # (the amount follows the balance), or nothing once it falls under 1,000.
    stop_month = path.close_month
    first_product = rng.integers(0, 3, n)
    for slot in range(3):
        holder = rows_n[n_wealth > slot]
        product = _OUR_WEALTH[(first_product[holder] + slot) % 3]
        parts_chain = _chain(world, cal, rng, holder, product, opened_on, stop_month)
        cust, prod, start, month = parts_chain
        amount = np.round(wealth[cust, month] / n_wealth[cust] * rng.uniform(0.85, 1.0, len(cust)), -3)
        add(cust, prod, amount, start, start + world.product_term[prod])
    holder = rows_n[portfolio.has_td]
    cust, prod, start, month = _chain(world, cal, rng, holder, _OUR_TD[rng.integers(0, 3, len(holder))], opened_on,
                                      stop_month)
    amount = np.round(deposit[cust, month] * rng.uniform(0.3, 0.6, len(cust)), -3)
    add(cust, prod, amount, start, start + world.product_term[prod])
    holder = rows_n[portfolio.has_fund]
    start = np.maximum(opened_on[holder], cal.period_start - rng.integers(-300, 1500, len(holder)))
    month = np.clip(cal.month_index(start), 0, M - 1)
    add(holder, _OUR_FUND[rng.integers(0, 2, len(holder))],
        np.round(aum0[holder, month] * portfolio.fund_share[holder], -2), start)
    holder = rows_n[portfolio.has_insurance]
    start = np.maximum(opened_on[holder], cal.period_start - rng.integers(0, 2500, len(holder)))
    month = np.clip(cal.month_index(start), 0, M - 1)
    add(holder, np.full(len(holder), _OUR_INSURANCE),
        np.round(aum0[holder, month] * portfolio.insurance_share[holder], -3),
        start, start + world.product_term[_OUR_INSURANCE])
    holder = rows_n[portfolio.has_loan]
    add(holder, _OUR_LOANS[portfolio.loan_kind[holder]], portfolio.principal[holder],
        np.maximum(_month_date(cal, portfolio.loan_start[holder], rng.random(len(holder))), opened_on[holder]))
    holder = rows_n[portfolio.has_card]
    start = np.minimum(opened_on[holder] + rng.integers(0, 400, len(holder)),
                       np.maximum(opened_on[holder], cal.period_end))
    add(holder, _OUR_CARDS[(people.income[holder] > 300_000).astype(np.int64)], portfolio.card_limit[holder], start)
    # Competitors' products: the churn sign (money moving out) and loyal diversification.
    holder = rows_n[churn.competitor_sign]
    start_month = churn.lead_start[holder] + (rng.random(len(holder)) * churn.lead[holder]).astype(np.int64)
    start_month = np.maximum(start_month, active_from[holder])
    start = cal.day_in_month(start_month, rng.random(len(holder)))
    ctype, aum_ref = path.ctype, path.aum_ref
    amount = np.select(
        [ctype[holder] == DRAIN, ctype[holder] == CLOSE],
        [(1 - path.remaining[holder]) * aum_ref[holder], aum_ref[holder] * rng.uniform(0.3, 0.9, len(holder))],
        np.maximum(aum_ref[holder] - path.below_floor[holder], 0.0),
    ) * rng.uniform(0.5, 1.0, len(holder))
    product = path.churn_product[holder]
    add(holder, product, np.round(amount, -3), start, _maturity(world, product, start))
    holder = rows_n[loyal.diversify]
    start = cal.day_in_month(loyal.diversify_month[holder], rng.random(len(holder)))
    product = loyal.diversify_product[holder]
    amount = aum0[holder, np.minimum(loyal.diversify_month[holder], M - 1)] / (1 - loyal.diversify_share[holder]) \
        * loyal.diversify_share[holder]
    add(holder, product, np.round(amount, -3), start, _maturity(world, product, start))
    return parts


def _appointments_table(
    cal: _Calendar, rng: np.random.Generator, ids: pa.Array, people: _People, churn: _Churn, loyal: _LoyalPath,
    closed: np.ndarray, balances: _Balances, *, first_chunk: bool,
) -> pa.Table:
    """Large withdrawals and transfers: churners' and big purchases', plus a few for today and tomorrow."""
    n, M = len(people.base_aum), cal.observed
    rows_n = np.arange(n)
    tau, active_from, aum_t, aum0 = churn.tau, people.active_from, balances.aum, loyal.aum[:, :M]
    app_cust, app_month, app_amount = [], [], []
    holder = rows_n[churn.appointment_sign]
    month = tau[holder] - (rng.random(len(holder)) < 0.7)
    app_cust.append(holder)
    app_month.append(month)
    app_amount.append(aum_t[holder, np.clip(month - 1, 0, M - 1)] * rng.uniform(0.4, 0.95, len(holder)))
    holder = rows_n[loyal.purchase]
    app_cust.append(holder)
    app_month.append(loyal.purchase_month[holder])
    app_amount.append(aum0[holder, np.clip(loyal.purchase_month[holder] - 1, 0, M - 1)]
                      * loyal.purchase_share[holder])
    cust, month, amount = (np.concatenate(a) for a in (app_cust, app_month, app_amount))
    keep = (month >= active_from[cust]) & (month <= M) & (amount >= LARGE_TRANSACTION_MIN)
    cust, month, amount = cust[keep], month[keep], amount[keep]
    # Bookings for the month after the data are shown relative to "today" for the lobby's list.
    upcoming = month == M
    scheduled = np.where(upcoming, cal.today + rng.integers(0, 10, len(cust)),
                         cal.day_in_month(month, rng.random(len(cust))))
    # ... and a few are always for today and tomorrow, mostly customers about to leave.
    n_today = max(3 if first_chunk else 0, round(n * 0.0015))
    open_at_end = (~closed[:, M - 1]) & (aum_t[:, M - 1] >= 100_000) & (active_from < M)
    leaving = open_at_end & (tau >= M) & (tau <= M + 2) & ~churn.weak
    pool = np.concatenate([rows_n[leaving], rows_n[open_at_end & ~leaving]])
    if len(pool):
        take = min(n_today, len(pool))
        preference = np.where(np.arange(len(pool)) < leaving.sum(), 4.0, 1.0)
        chosen = rng.choice(pool, size=take, replace=False, p=preference / preference.sum())
        cust = np.concatenate([cust, chosen])
        amount = np.concatenate([amount, aum_t[chosen, M - 1] * rng.uniform(0.3, 0.8, take)])
        scheduled = np.concatenate([scheduled, cal.today + (np.arange(take) % 2)])
    amount = np.maximum(np.round(amount, -4), LARGE_TRANSACTION_MIN)
    kind = np.where((amount > 500_000) | (rng.random(len(cust)) < 0.5), "transfer", "cash_withdrawal")
    order = np.lexsort((scheduled, cust))
    cust, kind, amount, scheduled = cust[order], kind[order], amount[order], scheduled[order]
    unique = np.ones(len(cust), dtype=bool)  # one booking per customer, kind and day
    if len(cust) > 1:
        same = (cust[1:] == cust[:-1]) & (scheduled[1:] == scheduled[:-1]) & (kind[1:] == kind[:-1])
        unique[1:] = ~same
    return pa.table({
        "customer_id": ids.take(pa.array(cust[unique])),
        "kind": pa.array(kind[unique]),
        "amount": _money(amount[unique]),
        "scheduled_on": _dates(scheduled[unique]),
    })


def _simulate_chunk(
    world: _World, cal: _Calendar, rng: np.random.Generator, *, first_number: int, n: int, first_chunk: bool
) -> dict[str, pa.Table]:
    """Simulate ``n`` customers and return their rows of every streamed file.

    The steps run in a fixed order on one random stream: each draws what it needs from
    ``rng`` in turn, so reordering them (or a draw inside one) changes every file that
    follows; ``tests/demo/test_bank_output.py`` pins the output.
    """
    people = _draw_people(world, cal, rng, n)
    portfolio = _draw_portfolio(cal, rng, people)
    incidents = _draw_incidents(cal, rng, people)
    churn = _draw_churn(world, cal, rng, people, portfolio, incidents)
    loyal = _simulate_loyal_path(world, cal, rng, people)
    path = _simulate_churn_path(world, cal, rng, people, churn, incidents, loyal)
    balances = _balance_breakdown(cal, rng, people, portfolio, churn, loyal, path)
    closed = path.closed[:, :cal.observed]

    numbers = np.arange(first_number, first_number + n)
    ids = pc.binary_join_element_wise(pa.scalar("C"), pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), 9, "0"), "")
    tables = {}
    tables["customers.csv"] = _customers_table(
        world, cal, rng, ids=ids, male=people.male, birth=people.birth, branch=people.branch, rm=people.rm,
        opened_on=people.opened_on, moved_away=people.moved_away, income=people.income, is_c=people.is_c,
    )
    tables["monthly.csv"] = _monthly_table(cal, ids, people, closed, balances)
    tables["holdings.csv"] = _holdings_table(
        world, ids, _holdings_parts(world, cal, rng, people, portfolio, churn, loyal, path, balances))
    k = np.arange(cal.observed)[None, :]
    tables["surveys.csv"] = _surveys_table(
        cal, rng, ids=ids, aum=balances.aum, closed=closed, active_from=people.active_from, segment=people.segment,
        age=people.age, sat_trait=people.sat_trait, survey_drop=path.survey_drop, incident_recent=incidents.window,
        satisfaction_window=churn.satisfaction_sign[:, None] & (k >= churn.lead_start[:, None] - 1)
        & (k <= churn.tau[:, None]), tier_floors=world.tier_floors,
    )
    tables["appointments.csv"] = _appointments_table(
        cal, rng, ids, people, churn, loyal, closed, balances, first_chunk=first_chunk)
    return tables


def _month_date(cal: _Calendar, month: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A date in month ``month`` counted from the first observed month; may lie before the period."""
    first = (cal.months[0] + month).astype("datetime64[D]")
    return first + (u * 28).astype(np.int64)


def _pick_competitor(
    world: _World, rng: np.random.Generator, month: np.ndarray, *, prefer_best: np.ndarray
) -> np.ndarray:
    """A competitor product per customer: mostly wealth, the best-paying one for rate hunters."""
    n = len(month)
    kind = np.array([WEALTH, DEPOSIT, FUND])[_choose(rng, np.tile([0.7, 0.15, 0.15], (n, 1)))]
    product = np.empty(n, dtype=np.int64)
    month = np.clip(month, 0, world.yields.shape[1] - 1)
    for kd, candidates in world.competitor_by_kind.items():
        rows = kind == kd
        random_pick = candidates[rng.integers(0, len(candidates), n)]
        best = world.best_competitor[kd][month]
        product[rows] = np.where(prefer_best & (rng.random(n) < 0.7), best, random_pick)[rows]
    return product


def _maturity(world: _World, product: np.ndarray, start: np.ndarray) -> np.ndarray:
    term = world.product_term[product]
    return np.where(term > 0, start + term, np.datetime64("NaT"))


def _chain(
    world: _World, cal: _Calendar, rng: np.random.Generator, holder: np.ndarray, product: np.ndarray,
    opened_on: np.ndarray, stop_month: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Back-to-back terms of a term product, from before the period (or opening) to the stop month.

    Returns (customer, product, start date, month index of the start clipped to the observed months).
    """
    term = world.product_term[product]
    first = np.maximum(cal.period_start - (rng.random(len(holder)) * term).astype(np.int64) - 1,
                       opened_on[holder] + rng.integers(0, 60, len(holder)))
    span = int((cal.period_end - cal.period_start).astype(np.int64))
    renewals = span // int(term.min(initial=365)) + 2 if len(holder) else 0
    j = np.arange(renewals)[None, :]
    starts = first[:, None] + term[:, None] * j
    stop = cal.first_day[np.clip(stop_month[holder], 0, cal.horizon)]
    keep = (starts <= cal.period_end) & (starts < stop[:, None])
    rows, cols = np.nonzero(keep)
    start = starts[rows, cols]
    month = np.clip(cal.month_index(start), 0, cal.observed - 1)
    return holder[rows], product[rows], start, month


def _customers_table(
    world: _World, cal: _Calendar, rng: np.random.Generator, *, ids: pa.Array, male: np.ndarray, birth: np.ndarray,
    branch: np.ndarray, rm: np.ndarray, opened_on: np.ndarray, moved_away: np.ndarray, income: np.ndarray,
    is_c: np.ndarray,
) -> pa.Table:
    n = len(male)
    # Home region: a district of the branch's city, or far away for those who moved.
    region_text, region_code = [], []
    city_of_branch = np.array([list(_DISTRICTS).index(c) for c in world.branch_cities])
    for districts in [*_DISTRICTS.values(), _FAR_REGIONS]:
        region_text.append([d[0] for d in districts])
        region_code.append([d[1] for d in districts])
    city = np.where(moved_away, len(_DISTRICTS), city_of_branch[branch])
    sizes = np.array([len(t) for t in region_text])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    region = offsets[city] + (rng.random(n) * sizes[city]).astype(np.int64)
    flat_text = pa.array([t for texts in region_text for t in texts])
    flat_code = np.array([c for codes in region_code for c in codes], dtype=np.int64)
    # Resident ID: birthplace code (mostly the home region), birth date, sequence (odd = male), check digit.
    all_codes = np.concatenate([flat_code, [d[1] for d in _FAR_REGIONS]])
    birthplace = np.where(rng.random(n) < 0.75, flat_code[region], all_codes[rng.integers(0, len(all_codes), n)])
    birth_month = birth.astype("datetime64[M]")
    birth_num = (
        (birth.astype("datetime64[Y]").astype(np.int64) + 1970) * 10000
        + (birth_month.astype(np.int64) % 12 + 1) * 100
        + (birth - birth_month.astype("datetime64[D]")).astype(np.int64) + 1
    )
    sequence = rng.integers(0, 500, n) * 2 + male
    body = birthplace * 10**11 + birth_num * 1000 + sequence
    digits = (body[:, None] // 10 ** np.arange(16, -1, -1)[None, :]) % 10
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    check = pa.array(list("10X98765432")).take(pa.array((digits @ weights) % 11))
    id_number = pc.binary_join_element_wise(pc.cast(pa.array(body), pa.string()), check, "")
    phone = pc.binary_join_element_wise(
        pa.array(_MOBILE_PREFIXES).take(pa.array(rng.integers(0, len(_MOBILE_PREFIXES), n))),
        pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 10**8, n)), pa.string()), 8, "0"), "")
    credit = np.clip(np.round(rng.normal(np.where(is_c, 670, 700), 60)), 350, 900).astype(np.int64)
    return pa.table({
        "customer_id": ids,
        "name": _names(rng, male),
        "gender": pa.array(np.where(male, "M", "F")),
        "birth_date": _dates(birth),
        "id_number": id_number,
        "phone": phone,
        "branch_code": pa.array(world.branch_codes).take(pa.array(branch)),
        "rm_code": world.rm_codes.take(pa.array(rm)),
        "opened_on": _dates(opened_on),
        "region": flat_text.take(pa.array(region, mask=rng.random(n) < 0.1)),
        "annual_income": _money(income, valid=rng.random(n) >= 0.2),
        "credit_score": pa.array(credit, mask=rng.random(n) < 0.15),
    })


def _holdings_table(world: _World, ids: pa.Array, parts: list) -> pa.Table:
    cust, product, amount, start, maturity = (np.concatenate([p[i] for p in parts]) for i in range(5))
    order = np.lexsort((product, start, cust))
    cust, product, amount, start, maturity = (a[order] for a in (cust, product, amount, start, maturity))
    # (customer, product, start_on) is unique in the database.
    unique = np.ones(len(cust), dtype=bool)
    if len(cust) > 1:
        unique[1:] = ~((cust[1:] == cust[:-1]) & (product[1:] == product[:-1]) & (start[1:] == start[:-1]))
    cust, product, amount, start, maturity = (a[unique] for a in (cust, product, amount, start, maturity))
    return pa.table({
        "customer_id": ids.take(pa.array(cust)),
        "product_code": world.product_codes.take(pa.array(product)),
        "amount": _money(amount),
        "start_on": _dates(start),
        "maturity_on": _dates(np.where(np.isnat(maturity), start, maturity), valid=~np.isnat(maturity)),
    })


def _surveys_table(
    cal: _Calendar, rng: np.random.Generator, *, ids: pa.Array, aum: np.ndarray, closed: np.ndarray,
    active_from: np.ndarray, segment: np.ndarray, age: np.ndarray, sat_trait: np.ndarray, survey_drop: np.ndarray,
    incident_recent: np.ndarray, satisfaction_window: np.ndarray, tier_floors: dict[str, float],
) -> pa.Table:
    """Quarterly-ish surveys: core customers almost every quarter, complaints and unhappy churners more often."""
    n, M = len(segment), cal.observed
    quarter = (cal.months[:M].astype(np.int64)) // 3
    cust_parts, month_parts = [], []
    for q in np.unique(quarter):
        months = np.flatnonzero(quarter == q)
        month = months[rng.integers(0, len(months), n)]
        rows = np.arange(n)
        probability = np.array([0.08, 0.35, 0.8, 0.9])[tier_codes(aum[rows, month], tier_floors).astype(np.int64)]
        probability = np.where(incident_recent[rows, month] > 0, np.maximum(probability, 0.5), probability)
        probability = np.where(satisfaction_window[rows, month], np.maximum(probability, 0.85), probability)
        taken = (rng.random(n) < probability) & (month >= active_from) & ~closed[rows, month]
        cust_parts.append(rows[taken])
        month_parts.append(month[taken])
    cust, month = np.concatenate(cust_parts), np.concatenate(month_parts)
    order = np.lexsort((month, cust))
    cust, month = cust[order], month[order]
    m = len(cust)
    day = cal.day_in_month(month, rng.random(m))
    score = np.round(sat_trait[cust] + rng.normal(0, 0.8, m) - survey_drop[cust, month])
    score = np.clip(score, 0, 10).astype(np.int64)
    seg = segment[cust]
    channel = _choose(rng, np.stack([
        np.full(m, 0.4),  # phone
        np.where(age[cust] < 45, 1.0, 0.3),  # app
        np.where(seg == SERVICE, 0.8, 0.25),  # branch
    ], axis=1))
    band = np.digitize(score, [5, 8])
    comment = pa.array([c for by_band in _COMMENTS for texts in by_band for c in texts]).take(
        pa.array(seg * 12 + band * 4 + rng.integers(0, 4, m), mask=rng.random(m) < 0.25))
    return pa.table({
        "customer_id": ids.take(pa.array(cust)),
        "surveyed_on": _dates(day),
        "score": pa.array(score),
        "channel": pa.array(np.array(["phone", "app", "branch"])[channel]),
        "comment": comment,
    })


# --- writing -------------------------------------------------------------------------------------------

_STREAMED = ["customers.csv", "monthly.csv", "holdings.csv", "surveys.csv", "appointments.csv"]


def _write_small(path: Path, columns: list[str], rows: list[tuple]) -> int:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    return len(rows)


def _yield_text(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.2f}"


def generate_demo_bank(
    out_dir: Path,
    *,
    customers: int,
    months: int,
    seed: int,
    end_month: str,
    today: dt.date,
    tier_floors: dict[str, float],
    bank_name: str = "Demo Bank",
    progress: Callable[[int], object] | None = None,
    response: WorldResponse | None = None,
) -> dict[str, int]:
    """Write the demo bank's CSV files into ``out_dir``; return the data rows written per file.

    ``end_month`` ("YYYY-MM") is the last month in monthly.csv; ``months`` months end
    with it. ``today`` anchors the upcoming large-transaction bookings. ``tier_floors``
    are the bank's AUM tier floors (``customers.conf.tier_floors()``): downgraders drift
    to just above one and fall below it. ``progress`` is called with the number of
    customers finished after each chunk. ``response``: how the simulated customers answer
    to branch work when ``setup_demo`` replays nights on these files (``demo.world``),
    recorded as ``demo_world.json`` beside them (default: ``WorldResponse()``).
    """
    if customers < 1 or months < 4:
        raise ValueError("need at least one customer and four months")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cal = _calendar(months=months, end_month=end_month, today=today)
    world = _build_world(customers=customers, seed=seed, cal=cal, bank_name=bank_name,
                         tier_floors={tier: float(floor) for tier, floor in tier_floors.items()})
    world_response_write(out_dir, response or WorldResponse())
    counts = {
        "branches.csv": _write_small(out_dir / "branches.csv", INTERCHANGE_COLUMNS["branches.csv"],
                                     [b for b in _BRANCHES if b[0] in world.branch_codes]),
        "staff.csv": _write_small(out_dir / "staff.csv", INTERCHANGE_COLUMNS["staff.csv"], world.staff_rows),
        "products.csv": _write_small(out_dir / "products.csv", INTERCHANGE_COLUMNS["products.csv"], [
            (code, provider, name, kind, _yield_text(level), term or "")
            for code, provider, name, kind, level, term in world.product_rows
        ]),
        "product_yields.csv": _write_small(out_dir / "product_yields.csv", INTERCHANGE_COLUMNS["product_yields.csv"], [
            (row[0], str(cal.months[m]), f"{world.yields[p, m]:.2f}")
            for p, row in enumerate(world.product_rows) if not np.isnan(world.yields[p, 0])
            for m in range(months)
        ]),
    }
    files = {}
    writers = {}
    try:
        for name in _STREAMED:
            files[name] = pa.OSFile(str(out_dir / name), "wb")
            files[name].write((",".join(INTERCHANGE_COLUMNS[name]) + "\n").encode())
            counts[name] = 0
        for chunk, first in enumerate(range(0, customers, CHUNK_SIZE)):
            size = min(CHUNK_SIZE, customers - first)
            rng = np.random.default_rng([seed, 1, chunk])
            tables = _simulate_chunk(world, cal, rng, first_number=first + 1, n=size, first_chunk=chunk == 0)
            for name in _STREAMED:
                table = tables[name]
                if name not in writers:
                    # "none" quoting: generated text never holds commas or quotes, and pyarrow
                    # raises rather than write a broken row if it ever did.
                    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
                    writers[name] = pacsv.CSVWriter(files[name], table.schema, write_options=options)
                writers[name].write_table(table)
                counts[name] += table.num_rows
            if progress is not None:
                progress(size)
    finally:
        for writer in writers.values():
            writer.close()
        for f in files.values():
            f.close()
    return {name: counts[name] for name in INTERCHANGE_COLUMNS}
