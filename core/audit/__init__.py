"""The audit trail (監査ログ): who read or changed which record, when, why; append-only and hash-chained."""
