"""A tiny bank account: the smallest aggregate worth event sourcing (notebooks 01–02)."""

from __future__ import annotations

from dataclasses import dataclass

from eslab.aggregate import Aggregate, reject
from eslab.events import Event

# -- commands: what someone asks for -------------------------------------------------


@dataclass(frozen=True)
class OpenAccount:
    owner: str
    initial_deposit: int = 0


@dataclass(frozen=True)
class Deposit:
    amount: int


@dataclass(frozen=True)
class Withdraw:
    amount: int


# -- events: what happened -------------------------------------------------------------


@dataclass(frozen=True)
class AccountOpened(Event):
    owner: str
    initial_deposit: int


@dataclass(frozen=True)
class MoneyDeposited(Event):
    amount: int


@dataclass(frozen=True)
class MoneyWithdrawn(Event):
    amount: int


# -- the aggregate ----------------------------------------------------------------------


@dataclass
class BankAccount(Aggregate):
    """A balance in whole euros that can never go below zero."""

    owner: str = ""
    balance: int = 0

    def process_open(self, command: OpenAccount) -> list[Event]:
        if command.initial_deposit < 0:
            raise reject("An account cannot open with a negative deposit.")
        return [AccountOpened(command.owner, command.initial_deposit)]

    def apply_opened(self, event: AccountOpened) -> None:
        self.owner = event.owner
        self.balance = event.initial_deposit

    def process_deposit(self, command: Deposit) -> list[Event]:
        if command.amount <= 0:
            raise reject(f"Deposit {command.amount}: deposits must be positive.")
        return [MoneyDeposited(command.amount)]

    def apply_deposited(self, event: MoneyDeposited) -> None:
        self.balance += event.amount

    def process_withdraw(self, command: Withdraw) -> list[Event]:
        if command.amount <= 0:
            raise reject(f"Withdraw {command.amount}: amounts must be positive.")
        if command.amount > self.balance:
            raise reject(
                f"Cannot withdraw {command.amount}: the balance is {self.balance}. "
                "The command is refused and no event is stored."
            )
        return [MoneyWithdrawn(command.amount)]

    def apply_withdrawn(self, event: MoneyWithdrawn) -> None:
        self.balance -= event.amount
