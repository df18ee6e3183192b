@integration @network_errors @network
Feature: The network between the integration and Fiskil misbehaves
  Connections drop, responses arrive broken or late, and Fiskil sometimes answers 5xx or 429.
  The integration retries with growing waits, honours Retry-After, and ends with complete data
  and no duplicates, or with a clean error and consistent data when the failure persists.

  Scenario Outline: The transactions are retried after <fault>
    Given each newly linked account holds 60 transactions
    And a customer with an active banking consent
    And the next 2 transactions requests fail with <fault>
    When the integration syncs the customer
    Then the sync succeeds
    And the integration retried the transactions after the failures
    And the integration stores the same accounts and transactions as Fiskil holds

    Examples:
      | fault              |
      | a connection reset |
      | an empty response  |
      | a malformed chunk  |
      | random data        |

  @slow
  Scenario: A response slower than the integration's timeout is retried
    Given a customer with an active banking consent
    And the next accounts request is answered only after 1500 milliseconds
    When the integration syncs the customer
    Then the sync succeeds
    And the integration requested the accounts 2 times
    And the integration stores the same accounts and transactions as Fiskil holds

  Scenario: A burst of server errors is retried with backoff
    Given each newly linked account holds 60 transactions
    And a customer with an active banking consent
    And the next 4 transactions requests fail with HTTP 503
    When the integration syncs the customer
    Then the sync succeeds
    And the integration backed off between the retries
    And the integration stores the same accounts and transactions as Fiskil holds

  Scenario: A persistent failure ends in a clean error and consistent data
    Given each newly linked account holds 60 transactions
    And a customer with an active banking consent
    And every transactions request fails with HTTP 500
    When the integration syncs the customer
    Then the sync fails
    And the integration shows the customer a friendly sync error
    And the integration stored the customer's accounts but no partial transactions
    And the integration gave up on the transactions after at most 6 attempts

  @slow
  Scenario: A 429 Too Many Requests with Retry-After is honoured
    Given a customer with an active banking consent
    And the next accounts request is refused with 429 and Retry-After 1 second
    When the integration syncs the customer
    Then the sync succeeds
    And the integration waited at least 1 second before requesting the accounts again
    And the integration stores the same accounts and transactions as Fiskil holds
