/* dynacl.c: the `dynacl` command-line program: subcommand dispatch, --help, --version.
 * Each subcommand lives in tools/cmd_<name>.c; this file only routes.
 */
#include <stdio.h>
#include <string.h>

#include "dc/dc.h"
#include "tool_common.h"

static const dc_command g_commands[] = {
    {"backends", "list backends and devices, and why a backend has none", cmd_backends},
    {"fetch-data", "download a public dataset (harth, afdb, sleep-edf), resumable, SHA-256 checked", cmd_fetch},
    {"prepare", "turn raw dataset files into a prepared dataset folder (.npy + meta.json)", cmd_prepare},
    {"pretrain", "pretrain DynaCL, DynaCL-M, an ablation or a baseline (default: the embedded synthetic dataset)", cmd_pretrain},
    {"run-status", "what a run folder holds: none, started, resumable or complete, and its latest checkpoint",
     cmd_run_status},
    {"embed", "encoder outputs of a checkpoint (eval mode) as .npy", cmd_embed},
    {"loss", "the pretext loss of a checkpoint on a split (eval mode)", cmd_loss},
    {"linear-eval", "linear evaluation of a frozen encoder (accuracy, F1, precision, recall; docs/METHOD.md §7.1)",
     cmd_linear_eval},
    {"cluster", "k-means + DBI, silhouette, CH and J on the balanced test subset (docs/METHOD.md §7.2)", cmd_cluster},
    {"tsne", "Barnes-Hut t-SNE of the balanced test subset as a scatter plot (PNG/SVG/PDF) + CSV (docs/METHOD.md §7.3)",
     cmd_tsne},
    {"figure", "compose t-SNE CSVs into a methods x datasets grid (the paper's Figure 3; PNG/SVG/PDF)", cmd_figure},
    {"plot", "training curves of a run folder: loss, learning rate, validation J (PNG/SVG/PDF)", cmd_plot},
    {"report", "the paper's Tables 2, 3 and 5 from runs, as Markdown and CSV", cmd_report},
    {"demo", "the main job: pretrain DynaCL, evaluate, print the table, write the plot", cmd_demo},
    {"bench", "time training steps per backend and shape", cmd_bench},
    {"conformance", "decide whether a backend is correct: every op and whole runs against the reference",
     cmd_conformance},
};
#define N_COMMANDS ((int)(sizeof g_commands / sizeof g_commands[0]))

static void usage(FILE *f) {
    fprintf(f,
            "usage: dynacl [--help] [--version] <command> [options]\n\n"
            "dynacl %s: Dynamic Contrastive Learning for time series (DynaCL), in C.\n\n"
            "commands:\n",
            dc_version());
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-12s %s\n", g_commands[i].name, g_commands[i].help);
    fprintf(f, "\nRun 'dynacl <command> --help' for a command's options. Docs: docs/CLI.md.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("dynacl %s\n", dc_version());
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], g_commands[i].name)) return g_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dynacl: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
