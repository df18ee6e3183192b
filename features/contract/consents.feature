@contract
Feature: Consent contract
  Consents are listed per end user as a bare array; each says whether it is active.

  @sandbox_safe
  Scenario: A new end user has no consents
    Given the API client holds a bearer token
    And the API client has created an end user
    When the API client lists the consents of that end user
    Then Fiskil answers with status 200
    And the answer matches the "consent-list.json" schema
    And the list is empty

  @sandbox_safe
  Scenario: A consented end user has an active consent
    Given the API client has an end user with an active banking consent
    When the API client lists the consents of that end user
    Then Fiskil answers with status 200
    And the answer matches the "consent-list.json" schema
    And at least one consent is active
