@webhooks @webhook_delivery
Feature: Webhooks arriving out of order leave a consistent state
  Fiskil does not promise an order of delivery, and retries reorder events anyway. Whatever order
  the events of a consent arrive in, the integration's stored consent and data end up matching
  what Fiskil holds.

  Background:
    Given the integration's webhook endpoint is registered with Fiskil
    And a customer with an active banking consent

  Scenario: The transactions sync completes before the consent is announced
    When Fiskil delivers "banking.transactions.sync.completed" and then "consent.received" for the customer
    Then the integration acknowledges every delivery with a 2xx status within 2 seconds
    And the integration processes each webhook exactly once
    And the integration stores 1 active consent
    And the integration stores the same accounts and transactions as Fiskil holds

  @fake_only
  Scenario: The revocation arrives before the consent was announced
    Given the customer has revoked the consent
    When Fiskil delivers "consent.revoked" and then "consent.received" for the customer
    Then the integration acknowledges every delivery with a 2xx status within 2 seconds
    And the integration processes each webhook exactly once
    And the integration stores the consent as inactive
    And the integration keeps no live accounts or transactions for the customer
