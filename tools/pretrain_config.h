/* pretrain_config.h: the resolved options of a pretraining run and their JSON form
 * (config.json in the run folder). `dynacl pretrain --resume` rebuilds the run from it. */
#ifndef DC_PRETRAIN_CONFIG_H
#define DC_PRETRAIN_CONFIG_H

#include "train/dc_model.h"
#include "train/dc_train.h"

typedef struct pretrain_config {
    dc_model_config model;
    dc_train_opts train;
    char data[1024];      /* prepared dataset folder, or "synthetic" */
    char backend[64];
    char data_on_device[8]; /* auto | on | off */
} pretrain_config;

/* JSON text (caller frees). */
char *pretrain_config_to_json(const pretrain_config *c);
/* Parse config.json text; DC_ERR_FORMAT naming the missing key. */
dc_status pretrain_config_from_json(const char *json, const char *path, pretrain_config *c);

#endif
