"""The tenant admin's and auditor's pages: staff management (職員の管理), the break-glass review queue (緊急閲覧の
確認) and the audit viewer (監査ログ); ``todo`` gives the home page what is waiting for them."""
