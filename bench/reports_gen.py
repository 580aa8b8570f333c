"""Generator of a synthetic province for the reports benchmark (issue 6), set-based SQL only.

Fills an already migrated PostgreSQL database with:

- an area tree: province 370000 (山东省) → 16 cities (real GB/T 2260 city codes) → ~100 districts
  (4–5 urban 区 with codes 01–1x and 2 counties 县 with codes 2x per city; counties are not urban);
- organisations: ~50 manufacturers (Zipf-like market shares), ``use_units`` use units (one district each),
  50 maintenance units per city, one rescue station per district, one fire brigade per city;
- ``n_elevators`` elevators (registry.Elevator): category shares of a Chinese fleet (曳引乘客 ~80 %,
  escalators ~8 % …), place types (residential ~58 % …; escalators in malls/stations), installation dates
  over the 30 years before the case window (skewed to recent years), urban flag = the district's,
  status 97 % in use;
- maintenance contracts: one per elevator from its installation, 20 % change maintenance unit once inside
  the three case years (old contract ends the day before the new one starts);
- ``n_cases`` emergency cases over the 36 months 2023-11 … 2026-10 (Asia/Shanghai local months), generated
  month by month in ``received_at`` order (so the table's physical order follows time, as an append-only
  table does), month seasonality (summer high, Spring Festival low, +5 %/year) and hour-of-day bands
  (peaks 7–9 and 17–20); types 52 % fault report / 38 % entrapment / 10 % enquiry (no entrapment on
  escalators and dumbwaiters), states all closed (completed ~93 %, false alarm ~5 %, cancelled ~2 %);
  the case's time cache (dispatched/responded/arrived/released/closed) with docs/domain §3.4 durations (response
  ~1 min, arrival ~13 min mean urban and 1.5× elsewhere, on-site release ~6 min); causes from
  emergency/causes.py; responder = the maintenance unit under contract on the day (level 1, 98.8 %), the
  district's rescue station (level 2) or the city's fire brigade (level 3). Older elevators get more cases
  (the elevator of a case is drawn with a power skew over elevators ordered by age with jitter);
- ``n_hazards`` hazards (hazards.Hazard) filed over the same 36 months, mostly closed, with deadlines by
  level, on-time flag and some recurrences.

Not generated (stated in RESULTS): milestones and all ``historical*`` tables (reports read the case's
time cache, not milestones), buildings, lifecycle events.

Loading: foreign-key triggers are off for the session (``session_replication_role = replica``; the data are
consistent by construction and checked afterwards with anti-joins); secondary (non-unique) indexes of the
big tables are dropped before and rebuilt after the load (their definitions are kept in ``bench_meta`` so
an interrupted load can resume). Every step records itself in ``bench_meta``; a re-run skips what is done.
"""
from __future__ import annotations

import datetime as dt
import json
import time

TZ = "Asia/Shanghai"
FIRST_MONTH = (2023, 11)
N_MONTHS = 36

PROVINCE = ("370000", "山东省", "Shandong")
# (code, name, english, weight of the fleet)
CITIES = [
    ("370100", "济南市", "Jinan", 14), ("370200", "青岛市", "Qingdao", 18), ("370300", "淄博市", "Zibo", 6),
    ("370400", "枣庄市", "Zaozhuang", 3), ("370500", "东营市", "Dongying", 3), ("370600", "烟台市", "Yantai", 9),
    ("370700", "潍坊市", "Weifang", 9), ("370800", "济宁市", "Jining", 6), ("370900", "泰安市", "Tai'an", 4),
    ("371000", "威海市", "Weihai", 4), ("371100", "日照市", "Rizhao", 3), ("371300", "临沂市", "Linyi", 8),
    ("371400", "德州市", "Dezhou", 4), ("371500", "聊城市", "Liaocheng", 3), ("371600", "滨州市", "Binzhou", 3),
    ("371700", "菏泽市", "Heze", 3),
]

BRANDS = ["奥的斯", "三菱", "日立", "通力", "迅达", "蒂森克虏伯", "富士达", "东芝", "康力", "快意", "广日", "西继迅达",
          "江南嘉捷", "申龙", "博林特", "怡达", "华升富士达", "巨人通力", "永大", "奥玛", "东南", "韦伯", "沈阳三洋",
          "西奥", "汇森", "新时达", "蒙特费罗", "安川", "富沃德", "康达"] + [f"品牌{i:02d}" for i in range(31, 51)]

# (category, share)
CATEGORY_SHARES = [("3110", 0.800), ("3120", 0.055), ("3130", 0.010), ("3210", 0.005), ("3220", 0.004),
                   ("3310", 0.075), ("3320", 0.008), ("3410", 0.002), ("3420", 0.020), ("3430", 0.021)]
# (place type, share) for lifts; escalators/moving walks: malls, stations, other crowded, office
PLACE_SHARES = [(11, 0.58), (12, 0.12), (6, 0.05), (3, 0.035), (1, 0.03), (2, 0.005), (4, 0.015), (5, 0.002),
                (7, 0.003), (8, 0.003), (9, 0.002), (10, 0.01), (13, 0.06), (14, 0.005), (15, 0.08)]
ESC_PLACE_SHARES = [(6, 0.55), (4, 0.20), (10, 0.10), (12, 0.10), (3, 0.05)]
CROWDED = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14}

MONTH_WEIGHT = {1: 0.85, 2: 0.72, 3: 0.90, 4: 0.95, 5: 1.00, 6: 1.10, 7: 1.28, 8: 1.25, 9: 1.05, 10: 0.95, 11: 0.93, 12: 0.92}
HOUR_WEIGHT = [0.30, 0.20, 0.15, 0.12, 0.12, 0.20, 0.60, 1.60, 1.80, 1.20, 1.00, 1.10,
               1.20, 0.90, 0.90, 1.00, 1.10, 1.50, 1.70, 1.60, 1.20, 0.90, 0.60, 0.40]

CAUSE_SHARES = [("external", 0.28), ("human", 0.27), ("door_system", 0.25), ("control_system", 0.10),
                ("traction_system", 0.03), ("safety_devices", 0.03), ("other", 0.04)]


def months() -> list[tuple[int, int]]:
    y, m = FIRST_MONTH
    out = []
    for _ in range(N_MONTHS):
        out.append((y, m))
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def month_counts(n_cases: int) -> list[int]:
    """Cases per month: seasonality × 5 %/year growth, summing exactly to ``n_cases``."""
    ms = months()
    w = [MONTH_WEIGHT[m] * (1.05 ** (i / 12)) for i, (_y, m) in enumerate(ms)]
    total = sum(w)
    counts = [int(n_cases * x / total) for x in w]
    for i in range(n_cases - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def quantile_array(weights: list[float], size: int = 1000) -> str:
    """SQL int[] literal mapping floor(u*size)+1 → 1-based index drawn with the given weights."""
    total = sum(weights)
    cum, out, j = 0.0, [], 0
    edges = []
    for wt in weights:
        cum += wt / total
        edges.append(cum)
    for k in range(size):
        q = (k + 0.5) / size
        while j < len(edges) - 1 and q > edges[j]:
            j += 1
        out.append(j + 1)
    return "(ARRAY[" + ",".join(map(str, out)) + "])"


def text_array(values) -> str:
    return "(ARRAY[" + ",".join("'" + str(v).replace("'", "''") + "'" for v in values) + "])"


# ---------------------------------------------------------------------------------------------------------------
class Loader:
    """Runs the load steps over one psycopg connection (autocommit; each step is its own transaction)."""

    def __init__(self, conn, log=print):
        self.conn = conn
        self.log = log
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value jsonb NOT NULL)")

    # -- meta
    def meta(self, key, default=None):
        row = self.conn.execute("SELECT value FROM bench_meta WHERE key = %s", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key, value) -> None:
        self.conn.execute("INSERT INTO bench_meta VALUES (%s, %s::jsonb) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                          (key, json.dumps(value)))

    def step(self, name: str, fn) -> None:
        done = self.meta(f"step:{name}")
        if done is not None:
            self.log(f"  [skip] {name} (done, {done['s']:.1f} s)")
            return
        t = time.perf_counter()
        with self.conn.transaction():
            self.conn.execute("SET LOCAL session_replication_role = replica")
            self.conn.execute("SET LOCAL work_mem = '256MB'")
            self.conn.execute("SET LOCAL synchronous_commit = off")
            detail = fn()
            self.set_meta(f"step:{name}", {"s": time.perf_counter() - t, "detail": detail})
        self.log(f"  {name}: {time.perf_counter() - t:.1f} s {detail or ''}")

    # -- generic INSERT … SELECT filling every NOT NULL column not given with an empty value of its type
    def columns(self, table: str) -> list[tuple[str, str, bool, bool]]:
        return self.conn.execute(
            "SELECT column_name, data_type, is_nullable = 'YES', column_default IS NOT NULL OR is_identity = 'YES' FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position", (table,)).fetchall()

    def insert_select(self, table: str, values: dict[str, str], from_sql: str, params=()) -> int:
        cols, exprs = [], []
        empty = {"character varying": "''", "text": "''", "boolean": "false", "jsonb": "'{}'::jsonb", "json": "'{}'::json",
                 "integer": "0", "smallint": "0", "bigint": "0", "timestamp with time zone": "now()", "date": "current_date",
                 "double precision": "0", "numeric": "0"}
        known = set()
        for name, dtype, nullable, has_default in self.columns(table):
            known.add(name)
            if name in values:
                cols.append(name)
                exprs.append(values[name].replace("%", "%%"))
            elif not nullable and not has_default:
                cols.append(name)
                exprs.append(empty[dtype])
        unknown = set(values) - known
        if unknown:
            raise RuntimeError(f"{table}: no column(s) {sorted(unknown)}")
        sql = f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(exprs)} {from_sql}"
        return self.conn.execute(sql, params).rowcount

    # -- indexes
    def drop_secondary_indexes(self, table: str) -> None:
        key = f"indexes:{table}"
        if self.meta(key) is None:
            defs = [r[0] for r in self.conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s AND indexdef NOT LIKE 'CREATE UNIQUE%%'",
                (table,))]
            self.set_meta(key, defs)
        for (name,) in self.conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s AND indexdef NOT LIKE 'CREATE UNIQUE%%'",
                (table,)).fetchall():
            self.conn.execute(f'DROP INDEX IF EXISTS "{name}"')

    def restore_indexes(self, table: str) -> int:
        defs = self.meta(f"indexes:{table}") or []
        self.conn.execute("SET maintenance_work_mem = '512MB'")
        for d in defs:
            self.conn.execute(d.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
        self.conn.execute("RESET maintenance_work_mem")
        return len(defs)


# ---------------------------------------------------------------------------------------------------------------
def load(conn, *, n_elevators: int, n_cases: int, n_use_units: int = 50_000, n_hazards: int | None = None,
         seed: float = 0.2026, log=print) -> dict:
    """Fill the database (resumable). Returns {"load_s": total seconds of the steps run now or before, "steps": {...}}."""
    L = Loader(conn, log)
    sizes = {"elevators": n_elevators, "cases": n_cases, "use_units": n_use_units}
    have = L.meta("sizes")
    if have is not None and have != sizes:
        raise SystemExit(f"database already holds a load of another size {have}; use --fresh or another --db")
    L.set_meta("sizes", sizes)
    n_hazards = n_hazards if n_hazards is not None else max(1, n_cases // 30)
    ms = months()
    start_local = dt.date(*ms[0], 1)
    end_local = dt.date(2026, 11, 1)

    # ---- areas, users
    def areas():
        conn.execute("INSERT INTO core_area (code, name, name_en, level, path, urban, parent_id) VALUES (%s, %s, %s, 'province', %s, true, NULL)",
                     (PROVINCE[0], PROVINCE[1], PROVINCE[2], PROVINCE[0] + "/"))
        pid = conn.execute("SELECT id FROM core_area WHERE code = %s", (PROVINCE[0],)).fetchone()[0]
        n = 0
        for ci, (code, name, en, weight) in enumerate(CITIES):
            path = f"{PROVINCE[0]}/{code}/"
            cid = conn.execute("INSERT INTO core_area (code, name, name_en, level, path, urban, parent_id) VALUES (%s, %s, %s, 'city', %s, true, %s) RETURNING id",
                               (code, name, en, path, pid)).fetchone()[0]
            n_urban = 5 if weight >= 8 else 4
            n_county = 2 if ci % 4 else 3
            for k in range(n_urban + n_county):
                urban = k < n_urban
                dcode = code[:4] + (f"{k + 2:02d}" if urban else f"{21 + k - n_urban:02d}")
                dname = f"{name[:-1]}{'第' + str(k + 1) + '区' if urban else '第' + str(k - n_urban + 1) + '县'}"
                conn.execute("INSERT INTO core_area (code, name, name_en, level, path, urban, parent_id) VALUES (%s, %s, %s, 'district', %s, %s, %s)",
                             (dcode, dname, f"{en} {'District' if urban else 'County'} {k + 1}", path + dcode + "/", urban, cid))
                n += 1
        # the bench's own lookup tables (kept; small)
        conn.execute("DROP TABLE IF EXISTS bench_district")
        conn.execute("""CREATE TABLE bench_district AS
            SELECT row_number() OVER (ORDER BY d.path) AS didx, d.id AS area_id, d.urban, c.id AS city_id,
                   dense_rank() OVER (ORDER BY c.path) AS cidx
            FROM core_area d JOIN core_area c ON c.id = d.parent_id WHERE d.level = 'district'""")
        conn.execute("ALTER TABLE bench_district ADD PRIMARY KEY (didx)")
        conn.execute("""INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
                        VALUES ('!', true, 'bench_admin', '', '', '', true, true, now()) ON CONFLICT (username) DO NOTHING""")
        return f"{n} districts"

    def organisations():
        nd = conn.execute("SELECT count(*) FROM bench_district").fetchone()[0]
        # manufacturers
        for i, b in enumerate(BRANDS):
            conn.execute("INSERT INTO registry_organisation (kind, name, credit_code, licence_no, grade, address, phone, source, source_key, generated) "
                         "VALUES ('manufacturer', %s, '', '', '', '', '', 'bench', %s, true)", (b, f"M{i + 1:02d}"))
        # use units: unit j (1-based) in district ((j-1) % nd) + 1
        L.insert_select("registry_organisation", {
            "kind": "'use_unit'", "name": "'使用单位' || lpad(g::text, 5, '0')", "source": "'bench'", "source_key": "'U' || g",
            "generated": "true", "area_id": f"(SELECT area_id FROM bench_district WHERE didx = ((g - 1) % {nd}) + 1)"},
            "FROM generate_series(1, %s) g", (n_use_units,))
        # maintenance units: 50 per city, unit k of city c = (c-1)*50 + k
        L.insert_select("registry_organisation", {
            "kind": "'maintenance_unit'", "name": "'维保单位' || lpad(g::text, 3, '0')", "source": "'bench'", "source_key": "'W' || g",
            "grade": "(ARRAY['A','A','B','B','B','C','C','D'])[1 + g % 8]", "generated": "true",
            "area_id": "(SELECT min(city_id) FROM bench_district WHERE cidx = ((g - 1) / 50) + 1)"},
            "FROM generate_series(1, %s) g", (len(CITIES) * 50,))
        L.insert_select("registry_organisation", {
            "kind": "'rescue_station'", "name": "'救援站' || d.didx", "source": "'bench'", "source_key": "'R' || d.didx",
            "generated": "true", "area_id": "d.area_id"}, "FROM bench_district d")
        L.insert_select("registry_organisation", {
            "kind": "'fire_brigade'", "name": "'消防救援' || c.cidx", "source": "'bench'", "source_key": "'F' || c.cidx",
            "generated": "true", "area_id": "c.city_id"}, "FROM (SELECT DISTINCT cidx, city_id FROM bench_district) c")
        conn.execute("DROP TABLE IF EXISTS bench_org")
        conn.execute("""CREATE TABLE bench_org AS SELECT kind, substr(source_key, 2)::int AS k, id FROM registry_organisation
                        WHERE source = 'bench'""")
        conn.execute("ALTER TABLE bench_org ADD PRIMARY KEY (kind, k)")
        return f"{conn.execute('SELECT count(*) FROM registry_organisation').fetchone()[0]} organisations"

    # ---- the elevators' attribute table (bench_elev), then the product tables from it
    def elevator_attributes():
        nd = conn.execute("SELECT count(*) FROM bench_district").fetchone()[0]
        dist = conn.execute("SELECT didx, urban, cidx FROM bench_district ORDER BY didx").fetchall()
        # district weights: the city's weight shared by its districts, urban districts 3× a county
        wd = []
        for didx, urban, cidx in dist:
            city_w = CITIES[cidx - 1][3]
            tot = sum(3 if u else 1 for _d, u, c in dist if c == cidx)
            wd.append(city_w * (3 if urban else 1) / tot)
        darr = quantile_array(wd, 2000)
        cat = text_array([c for c, _ in CATEGORY_SHARES])
        carr = quantile_array([s for _, s in CATEGORY_SHARES], 1000)
        parr_v = "ARRAY[" + ",".join(str(p) for p, _ in PLACE_SHARES) + "]"
        parr = quantile_array([s for _, s in PLACE_SHARES], 1000)
        earr_v = "ARRAY[" + ",".join(str(p) for p, _ in ESC_PLACE_SHARES) + "]"
        earr = quantile_array([s for _, s in ESC_PLACE_SHARES], 100)
        per_city_uu = max(1, n_use_units // nd)
        conn.execute("SELECT setseed(%s)", (seed,))
        conn.execute("DROP TABLE IF EXISTS bench_elev")
        conn.execute(f"""
            CREATE TABLE bench_elev AS
            WITH raw AS (
                SELECT g, ({darr})[1 + floor(random() * 2000)::int] AS didx,
                       {cat}[({carr})[1 + floor(random() * 1000)::int]] AS category,
                       random() AS u_place, random() AS u_esc,
                       -- installation: the 30 years before the case window, skewed to recent years
                       (DATE '{start_local.isoformat()}' - 1 - floor(power(random(), 1.6) * 365.25 * 30)::int) AS installation_date,
                       random() AS u_status, random() AS u_brand, random() AS u_uu, random() AS u_unit, random() AS u_unit2,
                       random() AS u_change, random() AS u_jitter
                FROM generate_series(1, %s) g)
            SELECT row_number() OVER (ORDER BY installation_date + floor((u_jitter - 0.5) * 365.25 * 16)::int, g) AS idx,
                   r.*, d.area_id, d.urban, d.cidx, d.city_id,
                   CASE WHEN r.category LIKE '33%%' THEN ({earr_v})[({earr})[1 + floor(u_esc * 100)::int]]
                        ELSE ({parr_v})[({parr})[1 + floor(u_place * 1000)::int]] END AS place_type,
                   CASE WHEN u_status < 0.970 THEN 'in_use' WHEN u_status < 0.985 THEN 'stopped'
                        WHEN u_status < 0.990 THEN 'sealed' ELSE 'scrapped' END AS status,
                   1 + floor(power(u_brand, 2.5) * {len(BRANDS)})::int AS brand,
                   r.didx + {nd} * floor(power(u_uu, 1.5) * {per_city_uu})::int AS use_unit_k,
                   (d.cidx - 1) * 50 + 1 + floor(power(u_unit, 2) * 50)::int AS unit1_k,
                   (d.cidx - 1) * 50 + 1 + floor(power(u_unit2, 2) * 50)::int AS unit2_k,
                   CASE WHEN u_change < 0.20 THEN DATE '{start_local.isoformat()}' + floor(u_change / 0.20 * {(end_local - start_local).days})::int END AS change_date
            FROM raw r JOIN bench_district d USING (didx)""", (n_elevators,))
        conn.execute("ALTER TABLE bench_elev ADD PRIMARY KEY (idx)")
        conn.execute("ANALYZE bench_elev")
        return ""

    def elevators():
        L.drop_secondary_indexes("registry_elevator")
        n = L.insert_select("registry_elevator", {
            "source": "'bench'", "source_id": "'E' || lpad(e.idx::text, 7, '0')", "jurisdiction": f"'{PROVINCE[0]}'",
            "category": "e.category", "place_type": "e.place_type",
            "crowded_place": f"e.place_type IN ({','.join(map(str, sorted(CROWDED)))})", "urban": "e.urban",
            "address": "'Bench Road ' || e.idx", "search_address": "'BENCH ROAD ' || e.idx", "area_id": "e.area_id",
            "use_unit_id": "uu.id", "manufacturer_id": "m.id", "installation_date": "e.installation_date",
            "status": "e.status", "status_date": "CASE WHEN e.status <> 'in_use' THEN DATE '2023-06-01' END",
            "created_at": "now()", "updated_at": "now()",
        }, """FROM bench_elev e JOIN bench_org uu ON uu.kind = 'use_unit' AND uu.k = e.use_unit_k
              JOIN bench_org m ON m.kind = 'manufacturer' AND m.k = e.brand ORDER BY e.idx""")
        conn.execute("ALTER TABLE bench_elev ADD COLUMN id bigint")
        conn.execute("UPDATE bench_elev e SET id = r.id FROM registry_elevator r WHERE r.source = 'bench' AND r.source_id = 'E' || lpad(e.idx::text, 7, '0')")
        conn.execute("""ALTER TABLE bench_elev ADD COLUMN unit1 bigint, ADD COLUMN unit2 bigint""")
        conn.execute("""UPDATE bench_elev e SET unit1 = a.id, unit2 = b.id FROM bench_org a, bench_org b
                        WHERE a.kind = 'maintenance_unit' AND a.k = e.unit1_k AND b.kind = 'maintenance_unit' AND b.k = e.unit2_k""")
        conn.execute("ANALYZE bench_elev")
        return f"{n} elevators"

    def contracts():
        L.drop_secondary_indexes("registry_maintenancecontract")
        n = L.insert_select("registry_maintenancecontract", {
            "elevator_id": "e.id", "maintenance_unit_id": "e.unit1", "contract_no": "'C' || e.idx", "start_date": "e.installation_date",
            "end_date": "e.change_date - 1", "generated": "true"}, "FROM bench_elev e ORDER BY e.idx")
        n += L.insert_select("registry_maintenancecontract", {
            "elevator_id": "e.id", "maintenance_unit_id": "e.unit2", "contract_no": "'C' || e.idx || 'b'", "start_date": "e.change_date",
            "end_date": "NULL", "generated": "true"}, "FROM bench_elev e WHERE e.change_date IS NOT NULL ORDER BY e.idx")
        return f"{n} contracts"

    L.step("areas", areas)
    L.step("organisations", organisations)
    L.step("elevator_attributes", elevator_attributes)
    L.step("elevators", elevators)
    L.step("contracts", contracts)

    # ---- cases, month by month
    rescue = "(SELECT id FROM bench_org WHERE kind = 'rescue_station' AND k = e.didx)"
    fire = "(SELECT id FROM bench_org WHERE kind = 'fire_brigade' AND k = e.cidx)"
    harr = quantile_array(HOUR_WEIGHT, 1000)
    cause_codes = text_array([c for c, _ in CAUSE_SHARES])
    cause_arr = quantile_array([s for _, s in CAUSE_SHARES], 1000)
    from liftsafe.emergency.causes import CAUSES
    items = {k: list(v[1]) for k, v in CAUSES.items()}
    item_case = "CASE c.cause_class " + " ".join(
        f"WHEN '{k}' THEN {text_array(v)}[1 + floor(power(c.u_item, 1.4) * {len(v)})::int]" for k, v in items.items()) + " END"
    counts = month_counts(n_cases)
    offsets = [sum(counts[:i]) for i in range(len(counts))]
    E = n_elevators

    def case_month(i: int):
        y, m = ms[i]
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        days = (dt.date(ny, nm, 1) - dt.date(y, m, 1)).days
        first = dt.date(y, m, 1).isoformat()
        conn.execute("SELECT setseed(%s)", ((seed * 1000 + i) % 1 - 0.5,))
        # c: the drawn facts of each case; t: its durations (s); final: the row
        n = L.insert_select("emergency_emergencycase", {
            "order_number": f"'BR' || lpad(({offsets[i]} + c.rn)::text, 9, '0')",
            "channel": "ch.channel", "case_type": "c.case_type", "received_at": "c.received_at",
            "trapped_count": "CASE WHEN c.case_type = 'entrapment' THEN 1 + floor(power(c.u_trap, 3) * 5)::int END",
            "injured_count": "CASE WHEN c.case_type = 'entrapment' THEN 0 END",
            "details": "'{}'::jsonb",
            "cause_class": "CASE WHEN c.state = 'completed' AND c.case_type <> 'enquiry' THEN c.cause_class ELSE '' END",
            "cause_item": f"CASE WHEN c.state = 'completed' AND c.case_type <> 'enquiry' THEN {item_case} ELSE '' END",
            "cause_reported_at": "CASE WHEN c.state = 'completed' AND c.case_type <> 'enquiry' THEN c.closed_at + make_interval(secs => -ln(1 - c.u_cr) * 10800) END",
            "released_count": "CASE WHEN c.case_type = 'entrapment' AND c.released_at IS NOT NULL THEN 1 + floor(power(c.u_trap, 3) * 5)::int END",
            "state": "c.state", "level": "c.level",
            "responder_id": f"""CASE c.level WHEN 0 THEN NULL
                                 WHEN 1 THEN CASE WHEN e.change_date IS NOT NULL AND (c.received_at AT TIME ZONE '{TZ}')::date >= e.change_date THEN e.unit2 ELSE e.unit1 END
                                 WHEN 2 THEN {rescue} ELSE {fire} END""",
            "level_dispatched_at": "c.dispatched_at", "dispatched_at": "c.dispatched_at", "responded_at": "c.responded_at",
            "arrived_at": "c.arrived_at", "released_at": "c.released_at", "closed_at": "c.closed_at",
            "created_at": "c.received_at", "updated_at": "c.closed_at", "elevator_id": "e.id",
            "area_id": "e.area_id",  # the case's own area (where it happened), as emergency.services.intake_alarm sets it
        }, f"""
        FROM (
          SELECT t.*, row_number() OVER (ORDER BY t.received_at, t.g) AS rn,
                 t.received_at + make_interval(secs => t.d_disp) AS dispatched_at,
                 t.received_at + make_interval(secs => t.d_disp + t.d_resp) AS responded_at,
                 t.received_at + make_interval(secs => t.d_disp + t.d_arr) AS arrived_at,
                 t.received_at + make_interval(secs => t.d_disp + t.d_arr + t.d_rel) AS released_at,
                 t.received_at + make_interval(secs => t.d_close) AS closed_at
          FROM (
            SELECT s.*,
                   CASE WHEN s.level = 0 THEN NULL ELSE 20 - ln(1 - s.u1) * 40 END AS d_disp,
                   CASE WHEN s.level = 0 THEN NULL ELSE 10 - ln(1 - s.u2) * 55 END AS d_resp,
                   CASE WHEN s.level = 0 OR s.state = 'cancelled' THEN NULL
                        WHEN s.case_type = 'entrapment' THEN (240 - (ln(1 - s.u3) + ln(1 - s.u4)) * 270) * CASE WHEN s.urban THEN 1 ELSE 1.5 END
                        ELSE (600 - ln(1 - s.u3) * 2400) * CASE WHEN s.urban THEN 1 ELSE 1.3 END END AS d_arr,
                   CASE WHEN s.case_type = 'entrapment' AND s.state = 'completed' THEN 60 - ln(1 - s.u5) * 300 END AS d_rel
            FROM (
              SELECT b.*,
                     CASE WHEN b.case_type = 'enquiry' THEN 0
                          WHEN b.state = 'false_alarm' AND b.u_fa < 0.6 THEN 0
                          WHEN b.u_lvl < 0.988 THEN 1 WHEN b.u_lvl < 0.998 THEN 2 ELSE 3 END AS level
              FROM (
                SELECT r.g, e.urban, e.idx,
                       CASE WHEN ct.case_type = 'entrapment' AND (e.category LIKE '33%%' OR e.category = '3430') THEN 'fault_report' ELSE ct.case_type END AS case_type,
                       CASE WHEN ct.case_type = 'enquiry' THEN 'completed' WHEN u_state < 0.93 THEN 'completed'
                            WHEN u_state < 0.98 THEN 'false_alarm' ELSE 'cancelled' END AS state,
                       (TIMESTAMP '{first}' + make_interval(days => floor(u_day * {days})::int,
                            hours => ({harr})[1 + floor(u_hour * 1000)::int] - 1, secs => floor(u_sec * 3600)::int)) AT TIME ZONE '{TZ}' AS received_at,
                       {cause_codes}[({cause_arr})[1 + floor(u_cause * 1000)::int]] AS cause_class,
                       ct.u_chan, u_lvl, u_fa, u1, u2, u3, u4, u5, u_trap, u_item, u_cr
                FROM (
                  SELECT g, 1 + floor(power(random(), 1.25) * {E})::int AS eidx, random() AS u_type, random() AS u_state,
                         random() AS u_day, random() AS u_hour, random() AS u_sec, random() AS u_cause, random() AS u_chan,
                         random() AS u_lvl, random() AS u_fa, random() AS u1, random() AS u2, random() AS u3, random() AS u4,
                         random() AS u5, random() AS u_trap, random() AS u_item, random() AS u_cr
                  FROM generate_series(1, {counts[i]}) g) r
                JOIN bench_elev e ON e.idx = r.eidx
                CROSS JOIN LATERAL (SELECT CASE WHEN r.u_type < 0.52 THEN 'fault_report' WHEN r.u_type < 0.90 THEN 'entrapment' ELSE 'enquiry' END AS case_type,
                                           r.u_chan) ct
              ) b
            ) s
          ) t0
          CROSS JOIN LATERAL (SELECT t0.*,
                   CASE WHEN t0.case_type = 'enquiry' OR t0.level = 0 THEN 60 - ln(1 - t0.u5) * 240
                        WHEN t0.state = 'cancelled' THEN t0.d_disp + t0.d_resp + 60 - ln(1 - t0.u5) * 600
                        WHEN t0.state = 'false_alarm' THEN t0.d_disp + t0.d_arr + 300
                        WHEN t0.case_type = 'entrapment' THEN t0.d_disp + t0.d_arr + t0.d_rel + 600 - ln(1 - t0.u4) * 1200
                        ELSE t0.d_disp + t0.d_arr + 1800 - ln(1 - t0.u5) * 3600 END AS d_close) t
        ) c
        JOIN bench_elev e ON e.idx = c.idx
        CROSS JOIN LATERAL (SELECT CASE c.case_type
                 WHEN 'entrapment' THEN (ARRAY['phone_96333','phone_96333','phone_96333','phone_96333','phone_96333','phone_96333','car_alarm','car_alarm','iot','iot','iot','transfer_12345','transfer_119'])[1 + floor(c.u_chan * 13)::int]
                 WHEN 'fault_report' THEN (ARRAY['phone_96333','phone_96333','phone_96333','phone_96333','phone_96333','iot','iot','iot','qr_report','qr_report','transfer_12345'])[1 + floor(c.u_chan * 11)::int]
                 ELSE (ARRAY['phone_96333','phone_96333','phone_96333','phone_96333','phone_96333','phone_96333','phone_96333','phone_96333','phone_96333','transfer_12345'])[1 + floor(c.u_chan * 10)::int] END AS channel) ch
        ORDER BY c.rn""")
        return f"{n} cases"

    if any(L.meta(f"step:cases_{y}-{m:02d}") is None for y, m in ms):
        L.drop_secondary_indexes("emergency_emergencycase")
    for i, (y, m) in enumerate(ms):
        L.step(f"cases_{y}-{m:02d}", lambda i=i: case_month(i))

    def hazards():
        L.drop_secondary_indexes("hazards_hazard")
        total_days = (end_local - start_local).days
        n = L.insert_select("hazards_hazard", {
            "elevator_id": "e.id", "area_id": "e.area_id",
            "source": "(ARRAY['inspection','inspection','inspection','emergency','emergency','iot','complaint','spot_check','spot_check','incident'])[1 + floor(h.u_src * 10)::int]",
            "title": "'bench hazard ' || h.g", "cause_class": f"{cause_codes}[({cause_arr})[1 + floor(h.u_cause * 1000)::int]]",
            "level": "h.level", "state": "h.state", "responsible_unit_id": f"CASE WHEN e.change_date IS NOT NULL AND h.filed_on >= e.change_date THEN e.unit2 ELSE e.unit1 END",
            "deadline": "h.filed_on + h.days_allowed", "occurred_on": "h.filed_on",
            "filed_at": f"(h.filed_on + TIME '09:00' + make_interval(secs => floor(h.u_sec * 32400)::int)) AT TIME ZONE '{TZ}'",
            "listed": "h.level = 'major' AND h.u_list < 0.3",
            "listed_authority": "CASE WHEN h.level = 'major' AND h.u_list < 0.3 THEN 'city' ELSE '' END",
            "listed_at": f"CASE WHEN h.level = 'major' AND h.u_list < 0.3 THEN (h.filed_on + TIME '12:00') AT TIME ZONE '{TZ}' END",
            "submitted_at": f"CASE WHEN h.state IN ('submitted','closed') THEN (h.filed_on + TIME '10:00' + make_interval(days => h.close_days)) AT TIME ZONE '{TZ}' END",
            "closed_at": f"CASE WHEN h.state = 'closed' THEN (h.filed_on + TIME '15:00' + make_interval(days => h.close_days + 1)) AT TIME ZONE '{TZ}' END",
            "closed_on_time": "CASE WHEN h.state = 'closed' THEN h.close_days + 1 <= h.days_allowed END",
            "recurrence_count": "CASE WHEN h.u_rec < 0.04 THEN 1 ELSE 0 END", "version": "3",
        }, f"""FROM (
              SELECT x.*, CASE x.level WHEN 'major' THEN 5 WHEN 'significant' THEN 15 ELSE 30 END AS days_allowed,
                     floor(-ln(1 - x.u_close) * CASE x.level WHEN 'major' THEN 3 WHEN 'significant' THEN 8 ELSE 14 END)::int AS close_days,
                     CASE WHEN x.filed_on < DATE '{end_local.isoformat()}' - 60 OR x.u_open < 0.6 THEN 'closed'
                          ELSE (ARRAY['open','rectifying','submitted'])[1 + floor((x.u_open - 0.6) / 0.4 * 3)::int] END AS state
              FROM (SELECT g, 1 + floor(random() * {E})::int AS eidx, DATE '{start_local.isoformat()}' + floor(random() * {total_days})::int AS filed_on,
                           CASE WHEN random() < 0.6 THEN 'general' WHEN random() < 0.75 THEN 'significant' ELSE 'major' END AS level,
                           random() AS u_src, random() AS u_cause, random() AS u_sec, random() AS u_list, random() AS u_close,
                           random() AS u_open, random() AS u_rec
                    FROM generate_series(1, {n_hazards}) g) x) h
            JOIN bench_elev e ON e.idx = h.eidx ORDER BY h.filed_on, h.g""")
        return f"{n} hazards"

    L.step("hazards", hazards)

    def indexes():
        return f"{sum(L.restore_indexes(t) for t in ('registry_elevator', 'registry_maintenancecontract', 'emergency_emergencycase', 'hazards_hazard'))} indexes rebuilt"

    L.step("indexes", indexes)

    def check():
        bad = {}
        for name, sql in {
            "case→elevator": "SELECT count(*) FROM emergency_emergencycase c LEFT JOIN registry_elevator e ON e.id = c.elevator_id WHERE e.id IS NULL",
            "case→responder": "SELECT count(*) FROM emergency_emergencycase c LEFT JOIN registry_organisation o ON o.id = c.responder_id WHERE c.responder_id IS NOT NULL AND o.id IS NULL",
            "elevator→use unit": "SELECT count(*) FROM registry_elevator e LEFT JOIN registry_organisation o ON o.id = e.use_unit_id WHERE o.id IS NULL",
            "contract→unit": "SELECT count(*) FROM registry_maintenancecontract c LEFT JOIN registry_organisation o ON o.id = c.maintenance_unit_id WHERE o.id IS NULL",
            "hazard→elevator": "SELECT count(*) FROM hazards_hazard h LEFT JOIN registry_elevator e ON e.id = h.elevator_id WHERE e.id IS NULL",
        }.items():
            n = conn.execute(sql).fetchone()[0]
            if n:
                bad[name] = n
        if bad:
            raise RuntimeError(f"dangling references: {bad}")
        return "references OK"

    L.step("check", check)
    if L.meta("step:vacuum") is None:
        t = time.perf_counter()
        for tbl in ("core_area", "registry_organisation", "registry_elevator", "registry_maintenancecontract",
                    "emergency_emergencycase", "hazards_hazard"):
            conn.execute(f"VACUUM (ANALYZE) {tbl}")
        L.set_meta("step:vacuum", {"s": time.perf_counter() - t, "detail": None})
        log(f"  vacuum analyze: {time.perf_counter() - t:.1f} s")
    steps = {r[0][5:]: r[1]["s"] for r in conn.execute("SELECT key, value FROM bench_meta WHERE key LIKE 'step:%%'")}
    return {"load_s": sum(steps.values()), "steps": steps, "hazards": n_hazards}
