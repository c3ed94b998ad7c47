-- A payer's payments, newest first, for the bills page and GET /api/v1/payments.
CREATE INDEX payments_payer ON payments(payer, paid_on);
