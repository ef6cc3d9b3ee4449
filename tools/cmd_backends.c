/* cmd_backends.c: `dynacl backends` lists compiled-in backends, their devices, and why a
 * backend has none. */
#include <stdio.h>
#include <string.h>

#include "dc/dc.h"
#include "tool_common.h"

int cmd_backends(int argc, char **argv) {
    static const dc_opt opts[] = {{0}};
    int r = dc_opts_parse("backends", "", opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    printf("%-10s %-8s %s\n", "backend", "device", "description");
    for (int k = 0; k < dc_backend_kind_count(); k++) {
        char why[512];
        int n = dc_backend_kind_devices(k, why, sizeof why);
        if (n == 0) {
            printf("%-10s %-8s unavailable: %s\n", dc_backend_kind_name(k), "-", why[0] ? why : "no device");
            continue;
        }
        for (int d = 0; d < n; d++) {
            char desc[256] = "";
            if (dc_backend_kind_device_desc(k, d, desc, sizeof desc) != DC_OK)
                snprintf(desc, sizeof desc, "(no description: %s)", dc_last_error());
            char spec[64];
            snprintf(spec, sizeof spec, "%s:%d", dc_backend_kind_name(k), d);
            printf("%-10s %-8s %s\n", dc_backend_kind_name(k), spec + strlen(dc_backend_kind_name(k)) + 1, desc);
        }
    }
    return 0;
}
