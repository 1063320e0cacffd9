"""The prefecture console (県の管理): roadmap, 後方支援記録, 実態調査 (with one-time links), back-office schedule,
and cross-tenant aggregates protected by ``disclosure`` (primary and complementary suppression, checked)."""
