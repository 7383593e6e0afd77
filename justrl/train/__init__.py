"""The JustRL GRPO recipe: config and presets, data, the GRPO core, the native loop, the veRL hand-off.

Entry point: ``justrl-train`` (:mod:`justrl.train.cli`). The GRPO core is importable on its own::

    from justrl.train.grpo import group_advantages, policy_loss
"""
