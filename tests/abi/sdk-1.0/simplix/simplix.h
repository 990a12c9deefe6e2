/*
 * Simplix Hub connector SDK, umbrella header: a plugin includes only this.
 * Version: SX_ABI_MAJOR.SX_ABI_MINOR (sx_abi.h). Rules: sdk/ABI.md. Guide: docs/SDK.md.
 */
#ifndef SIMPLIX_SIMPLIX_H
#define SIMPLIX_SIMPLIX_H

#include "sx_abi.h"
#include "sx_model.h"
#include "sx_host.h"
#include "sx_connector.h"
#include "sx_util.h"

#endif /* SIMPLIX_SIMPLIX_H */
