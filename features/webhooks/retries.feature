@webhooks @webhook_delivery @network
Feature: Fiskil retries a webhook the integration could not take
  When a delivery gets no 2xx answer, Fiskil tries again with the same message_id, up to 5
  attempts with growing waits (run here on a compressed clock). However the first attempts fail,
  the integration ends up acting on the event exactly once.

  Background:
    Given the integration's webhook endpoint is registered with Fiskil
    And the deliveries to the integration pass through the network edge
    And a customer with an active banking consent

  Scenario Outline: Fiskil retries after <failure> and the event is processed once
    Given the first 2 deliveries to the integration fail with <failure>
    When Fiskil delivers a signed "consent.received" webhook for the customer, retrying until acknowledged
    Then Fiskil made 3 delivery attempts of the same message, numbered 1 to 3
    And the integration acknowledges the last attempt with a 2xx status within 2 seconds
    And the integration processes each webhook exactly once
    And the integration stores the same accounts and transactions as Fiskil holds

    Examples:
      | failure             |
      | HTTP 503            |
      | a timeout           |
      | a connection reset  |
