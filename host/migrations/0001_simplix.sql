-- 0001_simplix: the Simplix tables the hub reads and writes (DESIGN.md 4), created when absent
-- (IF NOT EXISTS: an existing Simplix database keeps its own tables; it must then have at
-- least these columns).
--
-- Conventions for every table of the hub:
--   * ids are bigserial; every row that belongs to a tenant carries organization_id and every
--     query of the admin API filters on it (DESIGN.md 8);
--   * times are timestamptz (stored as UTC instants; the hub's sessions use TimeZone=UTC);
--   * money is bigint in minor units (cents) next to an ISO 4217 char(3) currency, never a
--     float; quantities are integers; tax rates are parts per million (8.875 % = 88750);
--   * external_data keeps the platform's record (or the parts the canonical model lacks);
--   * origin_integration_id is the integration that first created the row (NULL: created in
--     Simplix). The origin of one CHANGE is a different thing: see 0004_outbox.sql.

-- updated_at maintenance: on an UPDATE that changes something, set it to now() unless the
-- statement set it itself (the sync engine may set it explicitly; an application that forgets
-- still gets a correct value, which the conflict rules rely on). An UPDATE that changes
-- nothing leaves it alone, so it is not mistaken for a change (see 0004_outbox.sql).
CREATE OR REPLACE FUNCTION simplix_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

CREATE TABLE IF NOT EXISTS organizations (
    id          bigserial   PRIMARY KEY,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    currency    char(3)     NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS users (
    id              bigserial   PRIMARY KEY,
    organization_id bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           text        NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
    name            text,
    role            text        NOT NULL DEFAULT 'member'
                                CHECK (role IN ('owner', 'admin', 'member', 'readonly')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS users_org_email ON users (organization_id, lower(email));

-- Customers (canonical "customer").
CREATE TABLE IF NOT EXISTS companies (
    id                    bigserial   PRIMARY KEY,
    organization_id       bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name                  text        NOT NULL CHECK (length(name) BETWEEN 1 AND 500),
    contact_first_name    text,
    contact_last_name     text,
    email                 text,
    phone                 text,
    address_line1         text,
    address_line2         text,
    city                  text,
    region                text,
    postal_code           text,
    country_code          char(2)     CHECK (country_code ~ '^[A-Z]{2}$'),
    tax_id                text,
    tax_exempt            boolean     NOT NULL DEFAULT false,
    currency              char(3)     CHECK (currency ~ '^[A-Z]{3}$'),
    notes                 text,
    external_data         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    origin_integration_id bigint,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS companies_org ON companies (organization_id, id);
CREATE INDEX IF NOT EXISTS companies_org_email ON companies (organization_id, lower(email))
    WHERE email IS NOT NULL;
CREATE INDEX IF NOT EXISTS companies_origin ON companies (origin_integration_id)
    WHERE origin_integration_id IS NOT NULL;

-- Products: one row per sellable variant; a variant points at its parent product row
-- (parent_id), a product without variants is a single row.
CREATE TABLE IF NOT EXISTS products (
    id                    bigserial   PRIMARY KEY,
    organization_id       bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    parent_id             bigint      REFERENCES products (id) ON DELETE CASCADE,
    name                  text        NOT NULL CHECK (length(name) BETWEEN 1 AND 1000),
    description           text,
    sku                   text,
    barcode               text,
    vendor                text,
    price_minor           bigint      NOT NULL DEFAULT 0,
    currency              char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    stock                 bigint,                 -- NULL: stock not tracked
    taxable               boolean     NOT NULL DEFAULT true,
    status                text        NOT NULL DEFAULT 'active'
                                      CHECK (status IN ('active', 'draft', 'archived')),
    position              integer     NOT NULL DEFAULT 0,
    external_data         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    origin_integration_id bigint,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX IF NOT EXISTS products_org ON products (organization_id, id);
CREATE INDEX IF NOT EXISTS products_org_sku ON products (organization_id, sku) WHERE sku IS NOT NULL;
CREATE INDEX IF NOT EXISTS products_parent ON products (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS products_origin ON products (origin_integration_id)
    WHERE origin_integration_id IS NOT NULL;

-- Invoices (canonical "order"). number is not unique: two shops may both have "#1001".
CREATE TABLE IF NOT EXISTS invoices (
    id                    bigserial   PRIMARY KEY,
    organization_id       bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    company_id            bigint      REFERENCES companies (id) ON DELETE SET NULL,
    number                text,
    status                text        NOT NULL DEFAULT 'draft'
                                      CHECK (status IN ('draft', 'pending', 'authorized',
                                                        'issued', 'partially_paid', 'paid',
                                                        'partially_refunded', 'refunded',
                                                        'voided', 'cancelled')),
    currency              char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    taxes_included        boolean     NOT NULL DEFAULT false,
    subtotal_minor        bigint      NOT NULL DEFAULT 0,
    discount_minor        bigint      NOT NULL DEFAULT 0,
    shipping_minor        bigint      NOT NULL DEFAULT 0,
    tax_minor             bigint      NOT NULL DEFAULT 0,
    total_minor           bigint      NOT NULL DEFAULT 0,
    refunded_minor        bigint      NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    billing_address       jsonb,
    shipping_address      jsonb,
    notes                 text,
    issued_at             timestamptz,
    due_at                timestamptz,
    paid_at               timestamptz,
    cancelled_at          timestamptz,
    external_data         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    origin_integration_id bigint,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS invoices_org ON invoices (organization_id, id);
CREATE INDEX IF NOT EXISTS invoices_org_number ON invoices (organization_id, number)
    WHERE number IS NOT NULL;
CREATE INDEX IF NOT EXISTS invoices_company ON invoices (company_id) WHERE company_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS invoices_org_status ON invoices (organization_id, status, issued_at);

CREATE TABLE IF NOT EXISTS invoice_lines (
    id               bigserial   PRIMARY KEY,
    invoice_id       bigint      NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    product_id       bigint      REFERENCES products (id) ON DELETE SET NULL,
    kind             text        NOT NULL DEFAULT 'line'
                                 CHECK (kind IN ('line', 'shipping', 'discount', 'fee')),
    description      text        NOT NULL DEFAULT '',
    sku              text,
    quantity         bigint      NOT NULL DEFAULT 1,
    unit_price_minor bigint      NOT NULL DEFAULT 0,
    discount_minor   bigint      NOT NULL DEFAULT 0,
    tax_minor        bigint      NOT NULL DEFAULT 0,
    total_minor      bigint      NOT NULL DEFAULT 0,
    tax_rate_ppm     integer     CHECK (tax_rate_ppm BETWEEN 0 AND 1000000),
    position         integer     NOT NULL DEFAULT 0,
    external_data    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS invoice_lines_invoice ON invoice_lines (invoice_id, position);
CREATE INDEX IF NOT EXISTS invoice_lines_product ON invoice_lines (product_id)
    WHERE product_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS payments (
    id                    bigserial   PRIMARY KEY,
    organization_id       bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    invoice_id            bigint      REFERENCES invoices (id) ON DELETE SET NULL,
    amount_minor          bigint      NOT NULL,
    currency              char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status                text        NOT NULL DEFAULT 'pending'
                                      CHECK (status IN ('pending', 'succeeded', 'failed',
                                                        'refunded', 'partially_refunded')),
    method                text,
    fee_minor             bigint      NOT NULL DEFAULT 0,
    refunded_minor        bigint      NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    reference             text,
    paid_at               timestamptz,
    external_data         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    origin_integration_id bigint,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS payments_org ON payments (organization_id, id);
CREATE INDEX IF NOT EXISTS payments_invoice ON payments (invoice_id) WHERE invoice_id IS NOT NULL;

DROP TRIGGER IF EXISTS organizations_touch ON organizations;
CREATE TRIGGER organizations_touch BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION simplix_touch_updated_at();
DROP TRIGGER IF EXISTS users_touch ON users;
CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION simplix_touch_updated_at();
DROP TRIGGER IF EXISTS companies_touch ON companies;
CREATE TRIGGER companies_touch BEFORE UPDATE ON companies
    FOR EACH ROW EXECUTE FUNCTION simplix_touch_updated_at();
DROP TRIGGER IF EXISTS products_touch ON products;
CREATE TRIGGER products_touch BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION simplix_touch_updated_at();
DROP TRIGGER IF EXISTS invoices_touch ON invoices;
CREATE TRIGGER invoices_touch BEFORE UPDATE ON invoices
    FOR EACH ROW EXECUTE FUNCTION simplix_touch_updated_at();
DROP TRIGGER IF EXISTS payments_touch ON payments;
CREATE TRIGGER payments_touch BEFORE UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION simplix_touch_updated_at();
