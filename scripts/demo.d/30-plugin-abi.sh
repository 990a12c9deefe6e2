# step: The plugin ABI: the template connector's descriptor, and a refusal
# shellcheck shell=bash
# Sourced by scripts/demo.sh (see README here).

abi_step() {
    local tpl="$SX_PLUGIN_DIR/template.so" bad out

    if [ ! -f "$tpl" ]; then
        demo_missing "build/plugins/template.so"
        return 0
    fi
    sx_info "simplix-hub plugin inspect ${tpl#"$SX_ROOT"/}"
    if ! out=$("$SX_HUB_BIN" plugin inspect "$tpl" 2>&1); then
        printf '    %s\n' "$out"
        demo_fail "plugin inspect refused the template"
        return 1
    fi
    printf '    %s\n' "$out" | cut -c1-240
    # The same file under another name: the id must equal the file name.
    bad="$SX_DEMO_DIR/acme.so"
    cp "$tpl" "$bad"
    sx_info "the same file copied to acme.so (its id is \"template\"):"
    if out=$("$SX_HUB_BIN" plugin inspect "$bad" 2>&1); then
        rm -f "$bad"
        demo_fail "a misnamed plugin was accepted"
        return 1
    fi
    rm -f "$bad"
    printf '    %s\n' "$out"
    demo_did "plugin inspect: template accepted, a misnamed copy refused with its reason"
}

abi_step
