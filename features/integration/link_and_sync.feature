@integration @link_and_sync
Feature: Link a bank and sync its data
  A customer signs up, connects their bank through Fiskil's hosted Link page with a banking
  consent, and the integration pulls accounts, balances and every page of transactions.
  What the integration stores must match what Fiskil holds, sync after sync.
  Institution "88888" is the Sandbox Bank: the test institution of Fiskil's sandbox, which the fake
  plays too, holding test accounts and transactions instead of a real customer's.

  @fake_only
  Scenario: Linking a bank stores every account, balance and page of transactions
    Given each newly linked account holds 120 transactions
    And a customer who has signed up with the integration
    When the customer links their bank with a banking consent
    And the integration syncs the customer
    Then the sync succeeds
    And the integration stores the same accounts and transactions as Fiskil holds
    And the integration fetched at least 3 pages of transactions
    And the integration requested no page of transactions twice

  @fake_only
  Scenario: The customer returns from Link with an active consent
    Given a customer who has signed up with the integration
    When the customer links their bank with a banking consent
    Then the integration stores 1 active consent
    And the stored consent is the one Fiskil holds for the customer
    And the integration shows the customer no error

  @sandbox_safe
  Scenario: A consented customer's data is synced and matches Fiskil
    Given a customer with an active banking consent
    When the integration syncs the customer
    Then the sync succeeds
    And the integration stores the same accounts and transactions as Fiskil holds
    And the integration requested the customer's accounts, balances and transactions

  @sandbox_safe
  Scenario: Syncing twice without changes stores nothing twice
    Given a customer with an active banking consent
    When the integration syncs the customer
    And the integration syncs the customer again
    Then the sync succeeds
    And the integration stores the same accounts and transactions as Fiskil holds

  @fake_only
  Scenario: A re-sync picks up transactions the bank added, changed and removed
    Given each newly linked account holds 60 transactions
    And a customer with an active banking consent
    And the integration has synced the customer
    When the bank adds 5 transactions for the customer
    And the bank changes 3 transactions for the customer
    And the bank removes 2 transactions for the customer
    And the integration syncs the customer again
    Then the sync succeeds
    And the integration stores the same accounts and transactions as Fiskil holds
    And the changed transactions are stored with their new details

  @fake_only
  Scenario: Linking through a pre-selected institution
    Given a customer who has signed up with the integration
    When the customer links their bank at institution "88888" with a banking consent
    And the integration syncs the customer
    Then the sync succeeds
    And the integration stores 1 active consent
    And the integration stores the same accounts and transactions as Fiskil holds
