@webhooks @webhook_delivery @fake_only
Feature: Fiskil's own webhooks drive the integration
  With webhook delivery switched on, Fiskil notifies the integration when a consent is granted,
  when each banking dataset has synced, and when the consent ends. Fiskil's advice is to treat
  webhooks as the source of truth: the integration syncs by itself, without being asked.

  Background:
    Given Fiskil sends its webhooks to the integration
    And a customer who has signed up with the integration

  Scenario: Linking a bank makes Fiskil notify the integration, which syncs by itself
    When the customer links their bank with a banking consent
    Then the integration receives "consent.received" from Fiskil
    And the integration receives "banking.accounts.sync.completed" from Fiskil
    And the integration receives "banking.balances.sync.completed" from Fiskil
    And the integration receives "banking.transactions.sync.completed" from Fiskil
    And every webhook Fiskil sent was acknowledged at the first attempt within 2 seconds
    And within 10 seconds the integration stores the same accounts and transactions as Fiskil holds

  Scenario: Revoking the consent makes Fiskil notify the integration, which soft-deletes the data
    Given the customer has linked their bank with a banking consent
    And within 10 seconds the integration stores the same accounts and transactions as Fiskil holds
    When the customer revokes the consent
    Then the integration receives "consent.revoked" from Fiskil
    And every webhook Fiskil sent was acknowledged at the first attempt within 2 seconds
    And within 10 seconds the integration stores the consent as inactive
    And within 10 seconds the integration keeps no live accounts or transactions for the customer
    And Fiskil lists the consent as inactive
