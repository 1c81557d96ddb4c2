# ir/lower.mk -- fe_model -> forward graph (GPT-2 ops, MoE routers), training step graph.
