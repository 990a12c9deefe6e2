/*
 * The canonical model: the records that cross the plugin boundary, as JSON text.
 *
 * A connector turns a platform record into one canonical JSON object and hands it to the host
 * with sx_host_api.emit(); for export the host hands the connector the same form. The full
 * field list, with types and examples, is sdk/MODEL.md; the names below are the keys.
 *
 * Money is always an integer in minor units ("*_minor") next to an ISO 4217 "currency"; never a
 * float. Times are RFC 3339 strings in UTC ("2024-03-01T15:00:00Z"). Quantities are integers.
 * Tax rates are parts per million ("rate_ppm": 8.875 % = 88750).
 */
#ifndef SIMPLIX_SX_MODEL_H
#define SIMPLIX_SX_MODEL_H

#include "sx_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Entities (uint32_t in ABI structs). Append only. */
enum {
    SX_ENTITY_NONE     = 0,
    SX_ENTITY_CUSTOMER = 1,   /* -> Simplix companies */
    SX_ENTITY_PRODUCT  = 2,   /* -> Simplix products (one per sellable variant) */
    SX_ENTITY_ORDER    = 3,   /* -> Simplix invoices + invoice_lines */
    SX_ENTITY_PAYMENT  = 4,   /* -> Simplix payments */
    SX_ENTITY__COUNT   = 5
};

/* Directions (bit set). */
enum {
    SX_DIR_IMPORT = 1u << 0,  /* platform -> Simplix */
    SX_DIR_EXPORT = 1u << 1   /* Simplix -> platform */
};

/* Change operations for webhook-driven changes (sx_host_api.emit_change). */
enum {
    SX_OP_UPSERT = 1,
    SX_OP_DELETE = 2
};

/* Stable lowercase names used in JSON, URLs and the database: "customer", ... */
static inline const char *
sx_entity_name(uint32_t entity)
{
    switch (entity) {
    case SX_ENTITY_CUSTOMER: return "customer";
    case SX_ENTITY_PRODUCT:  return "product";
    case SX_ENTITY_ORDER:    return "order";
    case SX_ENTITY_PAYMENT:  return "payment";
    default:                 return "unknown";
    }
}

/* Keys common to every record. */
#define SX_K_EXTERNAL_ID   "external_id"   /* string, required: the platform's id */
#define SX_K_UPDATED_AT    "updated_at"    /* string, required: platform's last change, UTC */
#define SX_K_CREATED_AT    "created_at"    /* string, optional */
#define SX_K_DELETED       "deleted"       /* bool, optional: the record no longer exists */
#define SX_K_RAW           "raw"           /* object, optional: platform record, kept as-is */

/* Customer. */
#define SX_K_EMAIL         "email"
#define SX_K_FIRST_NAME    "first_name"
#define SX_K_LAST_NAME     "last_name"
#define SX_K_COMPANY_NAME  "company_name"
#define SX_K_PHONE         "phone"
#define SX_K_CURRENCY      "currency"
#define SX_K_TAX_EXEMPT    "tax_exempt"
#define SX_K_NOTE          "note"
#define SX_K_TAX_ID        "tax_id"        /* string: VAT / GST / EIN number */
#define SX_K_TAGS          "tags"          /* array of strings */
#define SX_K_ADDRESSES     "addresses"     /* array of address objects */
/* Address object keys. */
#define SX_K_KIND          "kind"          /* "billing" | "shipping" | "other" */
#define SX_K_LINE1         "line1"
#define SX_K_LINE2         "line2"
#define SX_K_CITY          "city"
#define SX_K_REGION        "region"
#define SX_K_POSTAL_CODE   "postal_code"
#define SX_K_COUNTRY_CODE  "country_code"  /* ISO 3166-1 alpha-2 */

/* Product. */
#define SX_K_TITLE         "title"
#define SX_K_DESCRIPTION   "description"
#define SX_K_VENDOR        "vendor"
#define SX_K_STATUS        "status"        /* product: "active" | "draft" | "archived" */
#define SX_K_VARIANTS      "variants"      /* array of variant objects */
/* Variant object keys (plus external_id, updated_at, title). */
#define SX_K_SKU           "sku"
#define SX_K_BARCODE       "barcode"
#define SX_K_PRICE_MINOR   "price_minor"
#define SX_K_TAXABLE       "taxable"
#define SX_K_STOCK         "stock"         /* integer, absent when not tracked */
#define SX_K_POSITION      "position"

/* Order. */
#define SX_K_NUMBER            "number"
#define SX_K_FINANCIAL_STATUS  "financial_status"
#define SX_K_CUSTOMER          "customer"          /* object: external_id, email, names */
#define SX_K_BILLING_ADDRESS   "billing_address"
#define SX_K_SHIPPING_ADDRESS  "shipping_address"
#define SX_K_TAXES_INCLUDED    "taxes_included"
#define SX_K_LINES             "lines"
#define SX_K_TAXES             "taxes"             /* [{title, rate_ppm, amount_minor}] */
#define SX_K_DISCOUNTS         "discounts"         /* [{code, amount_minor}] */
#define SX_K_SHIPPING          "shipping"          /* [{title, amount_minor, tax_minor}] */
#define SX_K_REFUNDS           "refunds"           /* [{external_id, amount_minor, created_at}] */
#define SX_K_SUBTOTAL_MINOR    "subtotal_minor"
#define SX_K_DISCOUNT_MINOR    "discount_minor"
#define SX_K_SHIPPING_MINOR    "shipping_minor"
#define SX_K_TAX_MINOR         "tax_minor"
#define SX_K_TOTAL_MINOR       "total_minor"
#define SX_K_REFUNDED_MINOR    "refunded_minor"
#define SX_K_CANCELLED_AT      "cancelled_at"
/* Line object keys. */
#define SX_K_PRODUCT_EXTERNAL_ID "product_external_id"
#define SX_K_VARIANT_EXTERNAL_ID "variant_external_id"
#define SX_K_QUANTITY            "quantity"
#define SX_K_UNIT_PRICE_MINOR    "unit_price_minor"
#define SX_K_RATE_PPM            "rate_ppm"
#define SX_K_AMOUNT_MINOR        "amount_minor"
#define SX_K_CODE                "code"

/* Payment. */
#define SX_K_ORDER_EXTERNAL_ID   "order_external_id"
#define SX_K_METHOD              "method"
#define SX_K_FEE_MINOR           "fee_minor"
#define SX_K_REFERENCE           "reference"     /* string: gateway/transaction reference */
#define SX_K_PAID_AT             "paid_at"       /* string, RFC 3339 UTC: when money moved */
/* payment status: "pending" | "succeeded" | "failed" | "refunded" | "partially_refunded" */

#ifdef __cplusplus
}
#endif

#endif /* SIMPLIX_SX_MODEL_H */
