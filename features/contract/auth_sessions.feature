@contract
Feature: Auth-session contract
  An auth session starts the hosted Link flow for one end user; it is single-use.

  @sandbox_safe
  Scenario: Creating an auth session returns a Link URL that expires in the future
    Given the API client holds a bearer token
    And the API client has created an end user
    When the API client creates an auth session for that end user
    Then Fiskil answers with status 200
    And the answer matches the "auth-session.json" schema
    And the auth session expires within 5 days

  @sandbox_safe
  Scenario: An unknown institution is refused
    Given the API client holds a bearer token
    And the API client has created an end user
    When the API client creates an auth session for that end user at institution "no-such-institution"
    Then Fiskil answers with status 400
    And the answer is an error named "invalid_institution_id"

  @fake_only
  Scenario: An auth session can be used only once
    Given the API client holds a bearer token
    And the API client has created an end user
    And the API client has created an auth session for that end user
    When the end user completes the Link flow with that session
    And the end user opens the same Link URL again
    Then the Link page refuses the session as "AUTH_SESSION_INVALID"
