@contract
Feature: End-user contract
  An end user is the person who consents; integrations create one per customer and keep its id.

  @sandbox_safe
  Scenario: Creating an end user returns its id and the end user can be read back
    Given the API client holds a bearer token
    When the API client creates an end user
    Then Fiskil answers with status 200
    And the answer matches the "end-user-created.json" schema
    When the API client reads that end user
    Then Fiskil answers with status 200
    And the answer matches the "end-user.json" schema
    And the end user has the email it was created with

  @sandbox_safe
  Scenario: End users can be found by email in a bare list
    Given the API client holds a bearer token
    And the API client has created an end user
    When the API client lists end users with that email
    Then Fiskil answers with status 200
    And the answer matches the "end-user-list.json" schema
    And the list holds exactly that end user

  @sandbox_safe
  Scenario: A second end user with the same email is refused
    Given the API client holds a bearer token
    And the API client has created an end user
    When the API client creates an end user with the same email
    Then Fiskil answers with status 400
    And the answer is an error named "end_user_already_exists"

  @sandbox_safe
  Scenario: An unknown end user is not found
    Given the API client holds a bearer token
    When the API client reads the end user "eu_does_not_exist_0000"
    Then Fiskil answers with status 404
    And the answer is an error named "end_user_not_found"
