//! The `get_contacts_since` Lambda: see `im_functions::by_name::get_contacts_since`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::get_contacts_since()).await
}
