@webhooks @webhook_security
Feature: The integration acts only on webhooks Fiskil signed
  Fiskil signs every webhook with the team's signing secret: the X-Fiskil-Signature header is the
  Base64 HMAC-SHA256 of the raw request body. The integration acknowledges a correctly signed
  delivery promptly and acts on it once; anything else it rejects without acting on it, because
  the signature is the only proof that Fiskil sent it.

  Background:
    Given the integration's webhook endpoint is registered with Fiskil
    And a customer with an active banking consent

  Scenario: A correctly signed consent.received webhook is acknowledged and processed once
    When Fiskil delivers a signed "consent.received" webhook for the customer
    Then the integration acknowledges every delivery with a 2xx status within 2 seconds
    And the integration processes each webhook exactly once
    And the integration stores the same accounts and transactions as Fiskil holds

  Scenario Outline: A webhook with <flaw> is rejected and not processed
    When a "consent.received" webhook for the customer arrives with <flaw>
    Then the integration rejects the delivery with a non-2xx status
    And the integration does not process the webhook
    And the integration keeps no live accounts or transactions for the customer

    Examples:
      | flaw                                   |
      | a forged signature                     |
      | no signature header                    |
      | a signature made with the wrong secret |
      | a body changed after signing           |
      | its JSON re-serialised with whitespace |
      | its JSON keys reordered                |
      | a hex digest instead of base64         |
