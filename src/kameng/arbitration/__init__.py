"""The arbitrator's evidence assist (AI证据辅助审核): OCR, findings, contradictions with the listing's
promises, reused evidence and buyer risk. It reads the evidence vault and the cases; its results live
in the vault's tables (kameng.evidence.models), so this app has no models of its own."""
