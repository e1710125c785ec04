-- The sql server: a demo-plant schema, its deterministic seed, and the read-only
-- role every sql.query statement runs as.
--
-- plant_demo holds one small plant per tenant ('acme', 'globex', and a
-- three-row 'conformance-a' plant the conformance suite's isolation probe
-- reads). Every table is tenant-scoped with forced row-level security keyed by
-- tessera_current_tenant(), like every other Tessera table. The seed is pure
-- arithmetic over generate_series: the same rows on every database.
--
-- tessera_sql_reader has SELECT on the allow-listed columns only (not on
-- tenant_id, suppliers.tax_id or supplier_bank_accounts), so a statement the
-- parser let through by mistake still cannot write, nor read outside them.

CREATE SCHEMA plant_demo;
COMMENT ON SCHEMA plant_demo IS 'A demo plant: purchasing, production and quality data.';

CREATE TABLE plant_demo.suppliers (
    tenant_id     text     NOT NULL DEFAULT tessera_current_tenant(),
    supplier_id   text     NOT NULL,
    name          text     NOT NULL,
    country       text     NOT NULL,
    city          text     NOT NULL,
    rating        smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    payment_terms text     NOT NULL,
    tax_id        text     NOT NULL,
    PRIMARY KEY (tenant_id, supplier_id)
);
COMMENT ON TABLE plant_demo.suppliers IS 'Vendors the plant buys from.';
COMMENT ON COLUMN plant_demo.suppliers.supplier_id IS 'Supplier number, e.g. S-1001.';
COMMENT ON COLUMN plant_demo.suppliers.name IS 'Company name.';
COMMENT ON COLUMN plant_demo.suppliers.country IS 'ISO 3166 country code.';
COMMENT ON COLUMN plant_demo.suppliers.city IS 'City of the supplier''s site.';
COMMENT ON COLUMN plant_demo.suppliers.rating IS 'Supplier rating, 1 (poor) to 5 (excellent).';
COMMENT ON COLUMN plant_demo.suppliers.payment_terms IS 'Payment terms key, e.g. NET30.';
COMMENT ON COLUMN plant_demo.suppliers.tax_id IS 'VAT number (confidential; not on the allow-list).';

CREATE TABLE plant_demo.supplier_bank_accounts (
    tenant_id   text NOT NULL DEFAULT tessera_current_tenant(),
    supplier_id text NOT NULL,
    iban        text NOT NULL,
    bank_name   text NOT NULL,
    PRIMARY KEY (tenant_id, supplier_id)
);
COMMENT ON TABLE plant_demo.supplier_bank_accounts IS
    'Bank details (confidential; not on the allow-list, no grant to tessera_sql_reader).';

CREATE TABLE plant_demo.materials (
    tenant_id      text          NOT NULL DEFAULT tessera_current_tenant(),
    material_id    text          NOT NULL,
    description    text          NOT NULL,
    material_type  text          NOT NULL,
    base_unit      text          NOT NULL,
    standard_price numeric(12,2) NOT NULL,
    currency       text          NOT NULL,
    supplier_id    text          NOT NULL,
    PRIMARY KEY (tenant_id, material_id)
);
COMMENT ON TABLE plant_demo.materials IS 'Material master: what the plant buys and makes.';
COMMENT ON COLUMN plant_demo.materials.material_id IS 'Material number, e.g. M-10001.';
COMMENT ON COLUMN plant_demo.materials.description IS 'Short text.';
COMMENT ON COLUMN plant_demo.materials.material_type IS 'RAW (raw material), SEMI (semi-finished) or FERT (finished product).';
COMMENT ON COLUMN plant_demo.materials.base_unit IS 'Unit of measure: PC, KG or M.';
COMMENT ON COLUMN plant_demo.materials.standard_price IS 'Standard price per base unit.';
COMMENT ON COLUMN plant_demo.materials.currency IS 'ISO 4217 currency of the price.';
COMMENT ON COLUMN plant_demo.materials.supplier_id IS 'Main supplier (suppliers.supplier_id).';

CREATE TABLE plant_demo.purchase_orders (
    tenant_id     text          NOT NULL DEFAULT tessera_current_tenant(),
    po_number     text          NOT NULL,
    supplier_id   text          NOT NULL,
    order_date    date          NOT NULL,
    delivery_date date          NOT NULL,
    status        text          NOT NULL,
    currency      text          NOT NULL,
    net_value     numeric(14,2) NOT NULL,
    buyer         text          NOT NULL,
    PRIMARY KEY (tenant_id, po_number)
);
COMMENT ON TABLE plant_demo.purchase_orders IS 'Purchase order headers.';
COMMENT ON COLUMN plant_demo.purchase_orders.po_number IS 'Purchase order number, e.g. 4500000001.';
COMMENT ON COLUMN plant_demo.purchase_orders.supplier_id IS 'Supplier (suppliers.supplier_id).';
COMMENT ON COLUMN plant_demo.purchase_orders.order_date IS 'Date the order was placed.';
COMMENT ON COLUMN plant_demo.purchase_orders.delivery_date IS 'Requested delivery date.';
COMMENT ON COLUMN plant_demo.purchase_orders.status IS 'OPEN, PARTIAL (partly delivered), DELIVERED or CANCELLED.';
COMMENT ON COLUMN plant_demo.purchase_orders.currency IS 'ISO 4217 currency of the order.';
COMMENT ON COLUMN plant_demo.purchase_orders.net_value IS 'Sum of the items'' net values.';
COMMENT ON COLUMN plant_demo.purchase_orders.buyer IS 'Buyer who placed the order.';

CREATE TABLE plant_demo.po_items (
    tenant_id     text          NOT NULL DEFAULT tessera_current_tenant(),
    po_number     text          NOT NULL,
    item_no       integer       NOT NULL,
    material_id   text          NOT NULL,
    quantity      numeric(12,3) NOT NULL,
    unit          text          NOT NULL,
    net_price     numeric(12,2) NOT NULL,
    delivery_date date          NOT NULL,
    PRIMARY KEY (tenant_id, po_number, item_no)
);
COMMENT ON TABLE plant_demo.po_items IS 'Purchase order items.';
COMMENT ON COLUMN plant_demo.po_items.po_number IS 'Purchase order (purchase_orders.po_number).';
COMMENT ON COLUMN plant_demo.po_items.item_no IS 'Item number within the order: 10, 20, 30, ...';
COMMENT ON COLUMN plant_demo.po_items.material_id IS 'Material ordered (materials.material_id).';
COMMENT ON COLUMN plant_demo.po_items.quantity IS 'Ordered quantity in unit.';
COMMENT ON COLUMN plant_demo.po_items.unit IS 'Unit of measure.';
COMMENT ON COLUMN plant_demo.po_items.net_price IS 'Net price per unit.';
COMMENT ON COLUMN plant_demo.po_items.delivery_date IS 'Delivery date of this item.';

CREATE TABLE plant_demo.machines (
    tenant_id       text NOT NULL DEFAULT tessera_current_tenant(),
    machine_id      text NOT NULL,
    name            text NOT NULL,
    line            text NOT NULL,
    machine_type    text NOT NULL,
    status          text NOT NULL,
    commissioned_on date NOT NULL,
    PRIMARY KEY (tenant_id, machine_id)
);
COMMENT ON TABLE plant_demo.machines IS 'Machines on the shop floor.';
COMMENT ON COLUMN plant_demo.machines.machine_id IS 'Machine id, e.g. MC-101.';
COMMENT ON COLUMN plant_demo.machines.name IS 'Machine name.';
COMMENT ON COLUMN plant_demo.machines.line IS 'Production line, e.g. L1.';
COMMENT ON COLUMN plant_demo.machines.machine_type IS 'CNC, PRESS, MOLDING, ASSEMBLY or PACKAGING.';
COMMENT ON COLUMN plant_demo.machines.status IS 'RUNNING, IDLE, DOWN or MAINTENANCE.';
COMMENT ON COLUMN plant_demo.machines.commissioned_on IS 'Date the machine went into service.';

CREATE TABLE plant_demo.production_orders (
    tenant_id    text          NOT NULL DEFAULT tessera_current_tenant(),
    order_id     text          NOT NULL,
    material_id  text          NOT NULL,
    machine_id   text          NOT NULL,
    planned_qty  numeric(12,3) NOT NULL,
    produced_qty numeric(12,3) NOT NULL,
    scrap_qty    numeric(12,3) NOT NULL,
    start_date   date          NOT NULL,
    end_date     date          NOT NULL,
    status       text          NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);
COMMENT ON TABLE plant_demo.production_orders IS 'Production orders: what was made, where and when.';
COMMENT ON COLUMN plant_demo.production_orders.order_id IS 'Production order number, e.g. PO-100001.';
COMMENT ON COLUMN plant_demo.production_orders.material_id IS 'Material produced (materials.material_id).';
COMMENT ON COLUMN plant_demo.production_orders.machine_id IS 'Machine it runs on (machines.machine_id).';
COMMENT ON COLUMN plant_demo.production_orders.planned_qty IS 'Planned quantity.';
COMMENT ON COLUMN plant_demo.production_orders.produced_qty IS 'Good quantity produced so far.';
COMMENT ON COLUMN plant_demo.production_orders.scrap_qty IS 'Scrapped quantity.';
COMMENT ON COLUMN plant_demo.production_orders.start_date IS 'Scheduled start.';
COMMENT ON COLUMN plant_demo.production_orders.end_date IS 'Scheduled end.';
COMMENT ON COLUMN plant_demo.production_orders.status IS 'PLANNED, RELEASED, IN_PROCESS, ON_HOLD or COMPLETED.';

CREATE TABLE plant_demo.quality_inspections (
    tenant_id     text    NOT NULL DEFAULT tessera_current_tenant(),
    inspection_id text    NOT NULL,
    order_id      text    NOT NULL,
    inspected_on  date    NOT NULL,
    result        text    NOT NULL,
    defects       integer NOT NULL,
    defect_code   text,
    inspector     text    NOT NULL,
    PRIMARY KEY (tenant_id, inspection_id)
);
COMMENT ON TABLE plant_demo.quality_inspections IS 'Quality inspections of production orders.';
COMMENT ON COLUMN plant_demo.quality_inspections.inspection_id IS 'Inspection lot, e.g. QI-200001.';
COMMENT ON COLUMN plant_demo.quality_inspections.order_id IS 'Production order inspected (production_orders.order_id).';
COMMENT ON COLUMN plant_demo.quality_inspections.inspected_on IS 'Inspection date.';
COMMENT ON COLUMN plant_demo.quality_inspections.result IS 'PASS, FAIL or REWORK.';
COMMENT ON COLUMN plant_demo.quality_inspections.defects IS 'Number of defective pieces found.';
COMMENT ON COLUMN plant_demo.quality_inspections.defect_code IS 'Main defect: SCRATCH, DENT, DIMENSION, CRACK, COLOR; null when none.';
COMMENT ON COLUMN plant_demo.quality_inspections.inspector IS 'Inspector who signed the lot.';

-- The deterministic seed. Each tenant's plant has its own size and its own
-- numbering offset; "canary-<tenant>-..." values mark each tenant's rows so a
-- test can tell whose rows a result holds.
CREATE TEMPORARY TABLE seed_plants (tenant text, plant int, suppliers int, materials int,
                                    pos int, machines int, orders int, inspections int)
    ON COMMIT DROP;
INSERT INTO seed_plants VALUES
    ('acme',          1000, 24, 150, 90, 14, 120, 160),
    ('globex',        2000, 18, 110, 70, 10,  90, 120),
    ('conformance-a', 9000,  3,   3,  3,  2,   3,   3);

INSERT INTO plant_demo.suppliers
SELECT p.tenant,
       'S-' || (p.plant + i),
       CASE WHEN i = 1 THEN 'Canary Trading canary-' || p.tenant || '-supplier'
            ELSE (ARRAY['Nordstahl', 'Rheinform', 'Baltic Polymers', 'Alpen Hydraulik', 'Delta Fasteners',
                        'Meridian Electric', 'Vistula Castings', 'Orion Bearings', 'Helix Plastics',
                        'Tatra Tools', 'Iberia Coatings', 'Lumen Optics'])[1 + i % 12]
                 || CASE WHEN i > 12 THEN ' ' || (ARRAY['Nord', 'Sud', 'Ost', 'West'])[1 + i % 4] ELSE '' END
                 || ' ' || (ARRAY['GmbH', 'AG', 'S.A.', 'Ltd', 'sp. z o.o.'])[1 + i % 5]
       END,
       (ARRAY['DE', 'AT', 'PL', 'CZ', 'ES', 'FR', 'IT', 'NL'])[1 + (i * 3) % 8],
       (ARRAY['Hamburg', 'Linz', 'Gdansk', 'Brno', 'Bilbao', 'Lyon', 'Turin', 'Eindhoven'])[1 + (i * 3) % 8],
       1 + (i * 7) % 5,
       (ARRAY['NET30', 'NET45', 'NET60', '2/10NET30'])[1 + i % 4],
       'canary-taxid-' || p.tenant || '-' || i
FROM seed_plants p, generate_series(1, p.suppliers) AS i;

INSERT INTO plant_demo.supplier_bank_accounts
SELECT p.tenant, 'S-' || (p.plant + i),
       'DE' || lpad(((p.plant * 7 + i * 131) % 100)::text, 2, '0') || ' canary-iban-' || p.tenant || '-' || i,
       'Canary Bank'
FROM seed_plants p, generate_series(1, p.suppliers) AS i;

INSERT INTO plant_demo.materials
SELECT p.tenant,
       'M-' || (p.plant * 10 + i),
       CASE WHEN i = 1 THEN 'Canary part canary-' || p.tenant || '-material'
            ELSE (ARRAY['Steel sheet', 'Hex bolt', 'Bearing', 'Gear housing', 'Seal ring', 'Copper wire',
                        'Hydraulic valve', 'Pump assembly', 'Control board', 'Aluminium profile',
                        'Polymer granulate', 'Drive shaft', 'Motor 3kW', 'Packaging carton'])[1 + i % 14]
                 || ' ' || (ARRAY['A', 'B', 'C', 'D', 'E'])[1 + (i / 14) % 5] || '-' || (10 + i % 90)
       END,
       (ARRAY['RAW', 'RAW', 'SEMI', 'FERT'])[1 + i % 4],
       (ARRAY['PC', 'PC', 'KG', 'M'])[1 + (i * 5) % 4],
       round((1.5 + ((i * 37) % 400) * 0.85)::numeric, 2),
       CASE WHEN p.tenant = 'globex' THEN 'USD' ELSE 'EUR' END,
       'S-' || (p.plant + 1 + (i * 5) % p.suppliers)
FROM seed_plants p, generate_series(1, p.materials) AS i;

INSERT INTO plant_demo.purchase_orders
SELECT p.tenant,
       (4500000000 + p.plant * 1000 + i)::text,
       'S-' || (p.plant + 1 + (i * 7) % p.suppliers),
       date '2026-01-05' + (i * 3) % 300,
       date '2026-01-05' + (i * 3) % 300 + 7 + (i * 11) % 35,
       (ARRAY['OPEN', 'OPEN', 'PARTIAL', 'DELIVERED', 'DELIVERED', 'CANCELLED'])[1 + (i * 5) % 6],
       CASE WHEN p.tenant = 'globex' THEN 'USD' ELSE 'EUR' END,
       0,
       CASE WHEN i = 1 THEN 'canary-' || p.tenant || '-buyer'
            ELSE (ARRAY['ann', 'ben', 'carla', 'dmitri'])[1 + i % 4] || '@' || p.tenant || '.example'
       END
FROM seed_plants p, generate_series(1, p.pos) AS i;

INSERT INTO plant_demo.po_items
SELECT po.tenant_id, po.po_number, item * 10,
       'M-' || (p.plant * 10 + 1 + (n * 13 + item * 17) % p.materials),
       (5 + (n * 29 + item * 7) % 200)::numeric,
       'PC',
       round((2 + ((n * 31 + item * 19) % 300) * 0.9)::numeric, 2),
       po.delivery_date + item - 1
FROM plant_demo.purchase_orders po
JOIN seed_plants p ON p.tenant = po.tenant_id
CROSS JOIN LATERAL (SELECT (po.po_number::bigint - 4500000000 - p.plant * 1000)::int AS n) k
CROSS JOIN LATERAL generate_series(1, 1 + (k.n * 7) % 4) AS item;

UPDATE plant_demo.purchase_orders po
SET net_value = s.total
FROM (SELECT tenant_id, po_number, sum(quantity * net_price) AS total
      FROM plant_demo.po_items GROUP BY tenant_id, po_number) s
WHERE s.tenant_id = po.tenant_id AND s.po_number = po.po_number;

INSERT INTO plant_demo.machines
SELECT p.tenant,
       'MC-' || (p.plant / 10 + i),
       CASE WHEN i = 1 THEN 'Canary press canary-' || p.tenant || '-machine'
            ELSE (ARRAY['CNC mill', 'Press', 'Injection molder', 'Assembly cell', 'Packer'])[1 + i % 5]
                 || ' ' || i
       END,
       'L' || (1 + i % 4),
       (ARRAY['CNC', 'PRESS', 'MOLDING', 'ASSEMBLY', 'PACKAGING'])[1 + i % 5],
       (ARRAY['RUNNING', 'RUNNING', 'RUNNING', 'IDLE', 'DOWN', 'MAINTENANCE'])[1 + (i * 5) % 6],
       date '2015-03-01' + (i * 97) % 3000
FROM seed_plants p, generate_series(1, p.machines) AS i;

INSERT INTO plant_demo.production_orders
SELECT p.tenant,
       'PO-' || (p.plant * 100 + i),
       'M-' || (p.plant * 10 + 1 + (i * 11) % p.materials),
       'MC-' || (p.plant / 10 + 1 + (i * 3) % p.machines),
       (100 + (i * 53) % 900)::numeric,
       CASE WHEN (i * 3) % 5 = 0 THEN 0 ELSE (90 + (i * 53) % 880)::numeric END,
       ((i * 13) % 25)::numeric,
       date '2026-02-01' + (i * 2) % 240,
       date '2026-02-01' + (i * 2) % 240 + 1 + i % 6,
       (ARRAY['PLANNED', 'RELEASED', 'IN_PROCESS', 'ON_HOLD', 'COMPLETED', 'COMPLETED'])[1 + (i * 7) % 6]
FROM seed_plants p, generate_series(1, p.orders) AS i;

INSERT INTO plant_demo.quality_inspections
SELECT p.tenant,
       'QI-' || (p.plant * 100 + i),
       'PO-' || (p.plant * 100 + 1 + (i * 7) % p.orders),
       date '2026-02-03' + (i * 2) % 250,
       (ARRAY['PASS', 'PASS', 'PASS', 'PASS', 'FAIL', 'REWORK'])[1 + (i * 11) % 6],
       CASE WHEN (i * 11) % 6 >= 4 THEN 1 + (i * 3) % 12 ELSE 0 END,
       CASE WHEN (i * 11) % 6 >= 4
            THEN (ARRAY['SCRATCH', 'DENT', 'DIMENSION', 'CRACK', 'COLOR'])[1 + i % 5] END,
       CASE WHEN i = 1 THEN 'canary-' || p.tenant || '-inspector'
            ELSE (ARRAY['e.kowalski', 'f.novak', 'g.weber'])[1 + i % 3] END
FROM seed_plants p, generate_series(1, p.inspections) AS i;

-- Row-level security on every table, as everywhere in Tessera (enabled after the
-- seed, so an owner that is not a superuser can seed too).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['suppliers', 'supplier_bank_accounts', 'materials', 'purchase_orders',
                             'po_items', 'machines', 'production_orders', 'quality_inspections']
    LOOP
        EXECUTE format('ALTER TABLE plant_demo.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE plant_demo.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON plant_demo.%I '
                       'USING (tenant_id = tessera_current_tenant()) '
                       'WITH CHECK (tenant_id = tessera_current_tenant())', t);
    END LOOP;
END
$$;

-- The role sql.query statements run as. NOLOGIN: the sql server reaches it with
-- SET LOCAL ROLE from the application role, or a site grants it to a login role
-- of its own (docs/servers/sql.md). It can only read the allow-listed columns.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tessera_sql_reader') THEN
        CREATE ROLE tessera_sql_reader NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
            NOINHERIT NOREPLICATION;
    END IF;
EXCEPTION WHEN duplicate_object THEN
    NULL;  -- created concurrently by another database's migration
END
$$;

GRANT USAGE ON SCHEMA plant_demo TO tessera_sql_reader;
GRANT SELECT (supplier_id, name, country, city, rating, payment_terms)
    ON plant_demo.suppliers TO tessera_sql_reader;
GRANT SELECT (material_id, description, material_type, base_unit, standard_price, currency, supplier_id)
    ON plant_demo.materials TO tessera_sql_reader;
GRANT SELECT (po_number, supplier_id, order_date, delivery_date, status, currency, net_value, buyer)
    ON plant_demo.purchase_orders TO tessera_sql_reader;
GRANT SELECT (po_number, item_no, material_id, quantity, unit, net_price, delivery_date)
    ON plant_demo.po_items TO tessera_sql_reader;
GRANT SELECT (machine_id, name, line, machine_type, status, commissioned_on)
    ON plant_demo.machines TO tessera_sql_reader;
GRANT SELECT (order_id, material_id, machine_id, planned_qty, produced_qty, scrap_qty, start_date,
              end_date, status)
    ON plant_demo.production_orders TO tessera_sql_reader;
GRANT SELECT (inspection_id, order_id, inspected_on, result, defects, defect_code, inspector)
    ON plant_demo.quality_inspections TO tessera_sql_reader;

-- The application role may become the reader (SET ROLE) but does not inherit its
-- rights, so nothing else in Tessera reads plant data by accident.
GRANT tessera_sql_reader TO tessera_app WITH INHERIT FALSE, SET TRUE;
