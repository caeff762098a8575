"""Distillation of many two-agent experts into one general student (DAgger), and its optional PPO fine-tune.

- `config`: the DAgger, β-schedule and fine-tune settings;
- `schedule`: β, the probability that a world follows its expert, per iteration;
- `experts`: the experts of a `stage=experts` run, loaded together and evaluated in batches;
- `buffer`: the aggregated dataset of visited observations and expert labels;
- `dagger`: the DAgger trainer (β-mixture rollouts, labelling, regression, checkpoints);
- `finetune`: PPO on the student with an expert-loss warm-up and a critic-first start;
- `evaluation`: the student and the experts on training and held-out clips, one table.
"""
