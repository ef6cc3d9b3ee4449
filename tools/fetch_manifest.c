/* fetch_manifest.c: the download manifest kept in the repository (fetch_manifest.h): where
 * each public dataset lives and the SHA-256 of every file whose checksum is known here.
 * PhysioNet databases also publish SHA256SUMS.txt, which gives the file list (and a
 * server-side checksum) for files not pinned below. To pin more files, add
 * {path, bytes, "sha256"} rows.
 *
 * Provenance of the pinned values: the mitdb rows and SC4001EC-Hypnogram.edf are the
 * genuine files in shared/data (their SHA256SUMS.txt, checked against PhysioNet's lists);
 * SC4001E0-PSG.edf is PhysioNet's published size and SHA-256 as quoted, identically, by
 * several independent public repositories. Nothing else is pinned.
 */
#include <string.h>

#include "fetch_manifest.h"

static const dc_manifest_file k_mitdb[] = {
    {"100.atr", 4558, "8d8a5349fb16638ebbf649f1779d12e96d91b736b2aafe59db43719ae583d471"},
    {"100.dat", 1950000, "b2ea3c250e56e48f4b7b90697832b8ecd1afa1e0bb31f2dcfea4ed6e1075a639"},
    {"100.hea", 143, "60ebc904c7bf3e04d142638d3fd5c903e8dc9f10f1ea3264e07926aa089ee75e"},
    {"201.atr", 4322, "df1276b6c6952b177ec6eea2be3edc7a96888454107a3ee56be880b0afaf6f35"},
    {"201.dat", 1950000, "16610ae46eff900794597503d15af4572a8b1518f18dbed2843b7e68c81f3898"},
    {"201.hea", 284, "dba34d6252879af28c1d10cde200989a4f6507d98df4395f5cba5f81af5b7e5a"},
    {"202.atr", 4388, "16d59e44564844c39a648164580a69e71f1657e951e6ad121b64eb1a11db037d"},
    {"202.dat", 1950000, "0c990e4142de6be898de4b21bd6e6705cd567e5d97cb731a994dc5aee9c7142d"},
    {"202.hea", 277, "6822216d1bc51f7014637c53e543cdc3863fea4ee3fec3aa99fb0762aece0cba"},
    {"203.atr", 7094, "2573f948e54a538983a44bf946e3e61cdda60e898b4c65ca8559b57c4877c706"},
    {"203.dat", 1950000, "5ba7d2237fc838438efd8bb0a3baeffc5de2e70c76e3ab7e401e811ad82f43e0"},
    {"203.hea", 423, "25b3a3107dd00221b245ef5c23ffdfbd07caaf58e2cf377734f3a947361b26a5"},
    {"210.atr", 5824, "5a46bef3d185c903b1ce099a988898fc829cea7e6c5bc1984532efd694fa8db6"},
    {"210.dat", 1950000, "76e971fba03c0ae2ab261c7446240987ecde82f45dad1d4f36e290b950eb464b"},
    {"210.hea", 158, "9d6a422834435fb8d267256f4fd01bfd8158b511f662c4b5dd8c60059944a322"},
    {"219.atr", 4798, "271928544ce78772669c50b26cf4de163a53f5b90187b5d8080928def79f0e6a"},
    {"219.dat", 1950000, "7fc27b77e313aaa40da9f39783f8fb29a6a910be148e67463e5093793644751a"},
    {"219.hea", 276, "d14f0ffbf19f9842dbaa15f82bcedbc7b9b96f00f422b7e4da31112a1d1b2b67"},
    {"221.atr", 5874, "92549b966cc17bcf2edf00a97237d1e350a761d9ffe20065b5ed303848aad7ae"},
    {"221.dat", 1950000, "274d17c6a35f7adcbb10a59ea34350e5ad299c2d69e4fa579d8863213e1fe9ae"},
    {"221.hea", 228, "09afd18974ee6e0cfa8b5b6ce80112c4df0cfbb8c8d01d3d085ecdf7790ada7b"},
};

static const dc_manifest_file k_sleep[] = {
    {"sleep-cassette/SC4001E0-PSG.edf", 48338048, "2b40a18adf76af69a42d6db1f30f31d26b369f6d27ca0050ef30147ef892b131"},
    {"sleep-cassette/SC4001EC-Hypnogram.edf", 4620, "a4cf67694ade1b52a0ddd06d5817fd45d2d3e8bac5302f640f3e9cfbbf12a996"},
};

static const dc_manifest_file k_harth[] = {
    {"harth.zip", -1, NULL},
};

#define N_OF(a) ((int)(sizeof a / sizeof a[0]))

static const dc_manifest_dataset k_sets[] = {
    {"harth", "HARTH: Human Activity Recognition Trondheim (UCI 779), 22 subject CSVs in a zip",
     "https://archive.ics.uci.edu/static/public/779/", NULL, "", "", "harth.zip",
     "dynacl prepare harth --input {out}/harth --out prepared/harth", "CC BY 4.0", N_OF(k_harth), k_harth},
    {"afdb", "MIT-BIH Atrial Fibrillation Database 1.0.0 (PhysioNet), records .hea/.dat/.atr",
     "https://physionet.org/files/afdb/1.0.0/", "SHA256SUMS.txt", "", ".hea|.dat|.atr", NULL,
     "dynacl prepare ecg --input {out} --out prepared/ecg", "ODC-By 1.0", 0, NULL},
    {"sleep-edf", "Sleep-EDF Database Expanded 1.0.0 (PhysioNet), sleep-cassette PSG + hypnograms",
     "https://physionet.org/files/sleep-edfx/1.0.0/", "SHA256SUMS.txt", "sleep-cassette/", "-PSG.edf|-Hypnogram.edf",
     NULL, "dynacl prepare sleepeeg --input {out}/sleep-cassette --out prepared/sleepeeg", "ODC-By 1.0", N_OF(k_sleep),
     k_sleep},
    {"mitdb", "MIT-BIH Arrhythmia Database 1.0.0 (PhysioNet, 360 Hz; the ECG substitute used by the tests)",
     "https://physionet.org/files/mitdb/1.0.0/", "SHA256SUMS.txt", "", ".hea|.dat|.atr", NULL,
     "dynacl prepare ecg --input {out} --out prepared/mitdb", "ODC-By 1.0", N_OF(k_mitdb), k_mitdb},
};

int dc_manifest_count(void) { return N_OF(k_sets); }

const dc_manifest_dataset *dc_manifest_get(int i) { return i >= 0 && i < N_OF(k_sets) ? &k_sets[i] : NULL; }

const dc_manifest_dataset *dc_manifest_find(const char *name) {
    for (int i = 0; name && i < N_OF(k_sets); i++)
        if (!strcmp(k_sets[i].name, name)) return &k_sets[i];
    return NULL;
}

const dc_manifest_file *dc_manifest_lookup(const dc_manifest_dataset *d, const char *path) {
    for (int i = 0; d && path && i < d->n_files; i++)
        if (!strcmp(d->files[i].path, path)) return &d->files[i];
    return NULL;
}

int dc_manifest_selects(const dc_manifest_dataset *d, const char *path) {
    if (!d || !path || !d->prefix || !d->suffixes) return 0;
    size_t pl = strlen(d->prefix), n = strlen(path);
    if (strncmp(path, d->prefix, pl) != 0 || n == pl || strchr(path + pl, '/')) return 0;
    const char *s = d->suffixes;
    while (*s) {
        const char *bar = strchr(s, '|');
        size_t sl = bar ? (size_t)(bar - s) : strlen(s);
        if (sl && n - pl > sl && !strncmp(path + n - sl, s, sl)) return 1;
        s += sl + (bar ? 1 : 0);
    }
    return 0;
}
