@webhooks @webhook_delivery
Feature: Redelivered and replayed webhooks are processed once
  Fiskil redelivers a webhook with the same message_id when it did not see an acknowledgement,
  and a captured delivery verifies forever because only the body is signed. Fiskil's advice is to
  deduplicate on message_id: the integration acknowledges every copy but acts on the event once.

  Background:
    Given the integration's webhook endpoint is registered with Fiskil
    And a customer with an active banking consent

  Scenario: A redelivery with the same message_id is acknowledged but processed once
    When Fiskil delivers a signed "consent.received" webhook for the customer
    And Fiskil delivers the same webhook again as its next delivery attempt
    Then the integration acknowledges every delivery with a 2xx status within 2 seconds
    And the integration processes each webhook exactly once
    And the integration stores the same accounts and transactions as Fiskil holds

  Scenario: A captured delivery replayed an hour later is processed once
    When Fiskil delivers a signed "consent.received" webhook for the customer
    And the very same delivery is replayed 1 hour later
    Then the integration processes each webhook exactly once
    And the integration stores the same accounts and transactions as Fiskil holds
