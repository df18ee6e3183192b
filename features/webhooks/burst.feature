@webhooks @webhook_delivery
Feature: A burst of webhooks is acknowledged in time and none is lost
  A busy day sends many webhooks at once. The integration acknowledges each within the budget
  (Fiskil retries what it does not see acknowledged), loses none and processes each exactly once.

  Background:
    Given the integration's webhook endpoint is registered with Fiskil
    And a customer who has signed up with the integration

  Scenario: A burst of 100 webhooks is acknowledged in time and processed once
    When Fiskil delivers a burst of 100 signed webhooks for the customer
    Then the integration acknowledges every delivery with a 2xx status within 2 seconds
    And the integration processes each webhook exactly once
    And the integration stores no consent
    And the integration shows the customer no error
