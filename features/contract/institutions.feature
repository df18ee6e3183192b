@contract
Feature: Institution contract
  Institutions are the banks and retailers an end user can link.

  @sandbox_safe
  Scenario: Institutions can be listed and read one by one
    Given the API client holds a bearer token
    When the API client lists institutions
    Then Fiskil answers with status 200
    And the answer matches the "institution-list.json" schema
    When the API client reads the first listed institution
    Then Fiskil answers with status 200
    And the answer matches the "institution.json" schema

  @sandbox_safe
  Scenario: An unknown institution is not found
    Given the API client holds a bearer token
    When the API client reads the institution "no-such-institution"
    Then Fiskil answers with status 404
    And the answer is a Fiskil error
