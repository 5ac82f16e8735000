"""The linking gateway: links as data, the signed transfer protocol, reconciliation, Article 6.2.

`import gateway.links` loads that module alone: each name below is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.lazy_names import lazy_names

if TYPE_CHECKING:
    from gateway.article6 import Article6Ledger, Article6Report
    from gateway.channel import Outbox, Outcome, Receipt
    from gateway.endpoint import FinalStatus, RegistryEndpoint, TransferOrder
    from gateway.errors import GatewayError, LinkCode
    from gateway.federation import Federation
    from gateway.gateway import Gateway, LinkCounters, TransferRecord
    from gateway.links import (
        Direction,
        Link,
        LinkNetwork,
        LinkState,
        TransferWindow,
        allowed_transitions,
        load_links,
        load_network,
        transition,
    )
    from gateway.messages import (
        Acceptance,
        Completion,
        Forward,
        Message,
        Refusal,
        Rejection,
        SignedMessage,
        Termination,
        TransactionStatus,
        Transfer,
        TransferProposal,
        check_version,
        message_from_data,
    )
    from gateway.network import DirectTransport, Faults, FaultyTransport, Network, Transport
    from gateway.reconciliation import (
        Discrepancy,
        HoldingsStatement,
        ReconciliationReport,
        ReconciliationStatus,
        SignedStatement,
        StatementReader,
        reconcile,
        sign_statement,
        statement_from_ledger,
    )
    from gateway.trust import Admission, SequenceTracker, TrustStore

# Where each public name lives; `__getattr__` imports its module when it is first asked for.
_HOMES: dict[str, str] = {
    "Article6Ledger": "gateway.article6",
    "Article6Report": "gateway.article6",
    "Outbox": "gateway.channel",
    "Outcome": "gateway.channel",
    "Receipt": "gateway.channel",
    "FinalStatus": "gateway.endpoint",
    "RegistryEndpoint": "gateway.endpoint",
    "TransferOrder": "gateway.endpoint",
    "GatewayError": "gateway.errors",
    "LinkCode": "gateway.errors",
    "Federation": "gateway.federation",
    "Gateway": "gateway.gateway",
    "LinkCounters": "gateway.gateway",
    "TransferRecord": "gateway.gateway",
    "Direction": "gateway.links",
    "Link": "gateway.links",
    "LinkNetwork": "gateway.links",
    "LinkState": "gateway.links",
    "TransferWindow": "gateway.links",
    "allowed_transitions": "gateway.links",
    "load_links": "gateway.links",
    "load_network": "gateway.links",
    "transition": "gateway.links",
    "Acceptance": "gateway.messages",
    "Completion": "gateway.messages",
    "Forward": "gateway.messages",
    "Message": "gateway.messages",
    "Refusal": "gateway.messages",
    "Rejection": "gateway.messages",
    "SignedMessage": "gateway.messages",
    "Termination": "gateway.messages",
    "TransactionStatus": "gateway.messages",
    "Transfer": "gateway.messages",
    "TransferProposal": "gateway.messages",
    "check_version": "gateway.messages",
    "message_from_data": "gateway.messages",
    "DirectTransport": "gateway.network",
    "Faults": "gateway.network",
    "FaultyTransport": "gateway.network",
    "Network": "gateway.network",
    "Transport": "gateway.network",
    "Discrepancy": "gateway.reconciliation",
    "HoldingsStatement": "gateway.reconciliation",
    "ReconciliationReport": "gateway.reconciliation",
    "ReconciliationStatus": "gateway.reconciliation",
    "SignedStatement": "gateway.reconciliation",
    "StatementReader": "gateway.reconciliation",
    "reconcile": "gateway.reconciliation",
    "sign_statement": "gateway.reconciliation",
    "statement_from_ledger": "gateway.reconciliation",
    "Admission": "gateway.trust",
    "SequenceTracker": "gateway.trust",
    "TrustStore": "gateway.trust",
}

__all__ = [
    "Acceptance",
    "Admission",
    "Article6Ledger",
    "Article6Report",
    "Completion",
    "DirectTransport",
    "Direction",
    "Discrepancy",
    "Faults",
    "FaultyTransport",
    "Federation",
    "FinalStatus",
    "Forward",
    "Gateway",
    "GatewayError",
    "HoldingsStatement",
    "Link",
    "LinkCode",
    "LinkCounters",
    "LinkNetwork",
    "LinkState",
    "Message",
    "Network",
    "Outbox",
    "Outcome",
    "Receipt",
    "ReconciliationReport",
    "ReconciliationStatus",
    "Refusal",
    "RegistryEndpoint",
    "Rejection",
    "SequenceTracker",
    "SignedMessage",
    "SignedStatement",
    "StatementReader",
    "Termination",
    "TransactionStatus",
    "Transfer",
    "TransferOrder",
    "TransferProposal",
    "TransferRecord",
    "TransferWindow",
    "Transport",
    "TrustStore",
    "allowed_transitions",
    "check_version",
    "load_links",
    "load_network",
    "message_from_data",
    "reconcile",
    "sign_statement",
    "statement_from_ledger",
    "transition",
]

__getattr__, __dir__ = lazy_names(globals(), _HOMES)
