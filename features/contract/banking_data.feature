@contract
Feature: Banking data contract
  Banking data is listed per end user, named after the resource, and paginated with links.

  @sandbox_safe
  Scenario Outline: Banking <resource> are listed under their own key with pagination links
    Given the API client has an end user with an active banking consent
    When the API client lists "<path>" for that end user
    Then Fiskil answers with status 200
    And the answer matches the "<schema>" schema
    And the records are under the "<key>" key

    Examples:
      | resource           | path                                 | schema                          | key                |
      | accounts           | /v1/banking/accounts                 | banking-accounts.json           | accounts           |
      | balances           | /v1/banking/balances                 | banking-balances.json           | balances           |
      | transactions       | /v1/banking/transactions             | banking-transactions.json       | transactions       |
      | payees             | /v1/banking/payees                   | banking-payees.json             | payees             |
      | direct debits      | /v1/banking/acccounts/direct-debits  | banking-direct-debits.json      | direct_debits      |
      | scheduled payments | /v1/banking/payments/scheduled       | banking-scheduled-payments.json | scheduled_payments |

  @sandbox_safe
  Scenario: Paging through transactions gives every transaction once, in a stable order
    Given the API client has an end user with an active banking consent
    When the API client pages through "/v1/banking/transactions" 5 records at a time
    Then every page matches the "banking-transactions.json" schema
    And every next link is a full URL
    And the pages hold the same transactions in the same order as one page of 1000
    And no transaction appears twice

  @sandbox_safe
  Scenario: A page size above 1000 is refused or capped at 1000
    Given the API client has an end user with an active banking consent
    When the API client lists "/v1/banking/transactions" for that end user with page size 1001
    Then the answer is a Fiskil error or holds at most 1000 "transactions"

  @sandbox_safe
  Scenario: A data request without an end user is a bad request
    Given the API client holds a bearer token
    When the API client lists "/v1/banking/transactions" without an end user
    Then Fiskil answers with status 400
    And the answer is an error named "InvalidRequest"

  @fake_only
  Scenario: Data of an end user without consent is refused
    Given the API client holds a bearer token
    And the API client has created an end user
    When the API client lists "/v1/banking/accounts" for that end user
    Then Fiskil answers with status 403
    And the answer is an error named "consent_inactive"
