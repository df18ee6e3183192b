@integration @token_expiry @fake_only
Feature: The access token expires
  Fiskil's tokens last 15 minutes and there are no refresh tokens: an integration requests a new
  one when the old one expires or is refused, once, and carries on where it was.

  Scenario: The token expires between two syncs
    Given a customer with an active banking consent
    And the integration has synced the customer
    When 15 minutes and 1 second pass
    And the integration syncs the customer again
    Then the sync succeeds
    And the integration requested exactly 1 new token
    And the expired token was refused at most once
    And the integration stores the same accounts and transactions as Fiskil holds

  Scenario: The token expires in the middle of a paginated sync
    Given each newly linked account holds 120 transactions
    And a customer with an active banking consent
    And the integration holds a valid token
    And the token will expire partway through the next sync
    When the integration syncs the customer
    Then the sync succeeds
    And the integration requested exactly 1 new token
    And the expired token was refused at most once
    And no page of transactions that Fiskil answered was requested again
    And the integration stores the same accounts and transactions as Fiskil holds

  Scenario: Two syncs running at the same time share one renewal
    Given two customers with an active banking consent
    And the integration holds a valid token
    When the token expires
    And the integration syncs both customers at the same time
    Then both syncs succeed
    And the integration requested exactly 1 new token

  Scenario: A valid token is reused across syncs
    Given a customer with an active banking consent
    And the integration has synced the customer
    When the integration syncs the customer again
    Then the sync succeeds
    And the integration requested no new token
