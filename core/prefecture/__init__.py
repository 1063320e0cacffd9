"""The prefecture console (県の管理): roadmap, survey, back-office schedule and cross-tenant aggregates."""
