@integration @auth_failure
Feature: Fiskil rejects the integration's credentials or token
  Fiskil issues bearer tokens for a client id and secret. With a wrong secret the integration must
  stop with a clear configuration error instead of hammering the token endpoint, and never write
  the secret or a token anywhere. When Fiskil refuses a token, the integration asks for a new one
  once and carries on; if Fiskil refuses the new one too, the sync stops with a friendly error.

  @fake_only
  Scenario: A wrong client secret is a clear configuration error
    Given a customer with an active banking consent
    And the integration is configured with a wrong client secret
    When the integration syncs the customer
    Then the sync fails
    And the integration requested a token at most 3 times
    And the integration requested no banking data
    And the integration's logs explain that the credentials were rejected
    And the client secret appears in no log line and in no message to the customer

  @fake_only
  Scenario: A wrong client secret at sign-up fails without leaking the secret
    Given the integration is configured with a wrong client secret
    When a customer tries to sign up with the integration
    Then the sign-up fails with a configuration error
    And the integration requested a token at most 3 times
    And the client secret appears in no log line and in no message to the customer

  @fake_only
  Scenario: Fiskil revokes every issued token
    Given a customer with an active banking consent
    And the integration has synced the customer
    When Fiskil revokes every issued token
    And the integration syncs the customer again
    Then the sync succeeds
    And the integration requested exactly 1 new token
    And the integration stores the same accounts and transactions as Fiskil holds

  @sandbox_safe @network
  Scenario: Fiskil rejects the bearer token once
    Given a customer with an active banking consent
    And Fiskil will answer the next accounts request with 401 Unauthorized
    When the integration syncs the customer
    Then the sync succeeds
    And the integration requested exactly 1 new token
    And the integration stores the same accounts and transactions as Fiskil holds

  @sandbox_safe @network
  Scenario: Fiskil keeps rejecting the renewed token
    Given a customer with an active banking consent
    And Fiskil will answer every accounts request with 401 Unauthorized
    When the integration syncs the customer
    Then the sync fails
    And the integration requested the accounts at most 2 times
    And the integration shows the customer a friendly sync error
    And the client secret appears in no log line and in no message to the customer

  @sandbox_safe
  Scenario: The integration's log holds no token or secret
    Given a customer with an active banking consent
    When the integration syncs the customer
    Then the sync succeeds
    And the integration's log holds no access token or client secret
