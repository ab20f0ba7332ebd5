"""The rollout control room: admin pages over rollouts, their gates, charts and savings."""
